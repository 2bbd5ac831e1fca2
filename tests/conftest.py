from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiinv.cli import app

# The original project plan's files, exactly as design.md section 2 gives them (tools.yaml in the
# plan's shape for each tool the planner names).
PLAN_PLANNER = textwrap.dedent(
    """\
    schedules:
      daily_collection:
        cron: "0 2 * * *"          # also accepted: cron_expression
        tools: ["cequence", "42crunch", "apigee"]   # or ["all"]
      weekly_processing:
        cron: "0 4 * * 0"
        tools: ["all"]
        action: process             # collect | process | export | run (default) | generate_reports
      monthly_report:
        cron: "0 6 1 * *"
        action: "generate_reports"
    """
)
PLAN_TOOLS = textwrap.dedent(
    """\
    cequence:
      api_base_url: "https://api.cequence.ai"
      auth_type: "api_key"      # api_key | bearer | basic | oauth (client credentials) | service_account | none
      rate_limit: 100           # requests per minute
    42crunch:
      api_base_url: "https://platform.42crunch.com"
      auth_type: "api_key"
      rate_limit: 100
    apigee:
      api_base_url: "https://apigee.googleapis.com"
      auth_type: "service_account"
      rate_limit: 100
    """
)


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "planner.yaml").write_text(PLAN_PLANNER)
    (folder / "tools.yaml").write_text(PLAN_TOOLS)
    return folder


class Cli:
    """Runs the real Typer app in-process, with the output root in a temp dir."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.runner = CliRunner()

    def __call__(self, *args: str, config_dir: Path | None = None, output: Path | None = None):
        argv = ["--output", str(output or self.output)]
        if config_dir is not None:
            argv += ["--config-dir", str(config_dir)]
        result = self.runner.invoke(app, [*argv, *args], catch_exceptions=False)
        logging.getLogger("apiinv").handlers.clear()
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "output")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own APIINV_* variables or a .env in the working directory."""
    import os

    for name in list(os.environ):
        if name.startswith("APIINV_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
