from __future__ import annotations

import email
import logging
import os
import shutil
import socket
import subprocess
import textwrap
from dataclasses import dataclass
from datetime import date
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner

from apiinv.cli import app

# CI runs every property test on the same examples: a red build is reproducible, never a dice roll.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

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
      auth_type: "oauth"
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


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, tmp_path: Path):
    """The simulators over a small estate, with the configuration that points at them: every one, or
    only those a ``@pytest.mark.sandbox_tools("kong", ...)`` names (moto's server alone costs a
    fraction of a second to start and fill); ``@pytest.mark.sandbox_estate(size=..., seed=...)`` picks
    another estate."""
    from apiinv.sandbox.launch import Sandbox

    marker = request.node.get_closest_marker("sandbox_tools")
    estate = request.node.get_closest_marker("sandbox_estate")  # another estate: (size=..., seed=...)
    shape = {"size": 40, "seed": 11, **(estate.kwargs if estate else {})}
    with Sandbox(**shape, day=RUN_DATE, only=list(marker.args) if marker else None) as running:
        running.config_dir = running.write_config(tmp_path / "sandbox")
        yield running


@dataclass
class Reported:
    """Reports written by real runs against the sandbox: a copy of a template built once per module."""

    output: Path
    config_dir: Path
    tools: list[str]


def build_reports(root: Path, days: list[date], *run_args: str) -> Reported:
    """`run` for each day against a sandbox (its date set to the day), into ``root``. Built outside any
    test, so without the developer's APIINV_* variables and outside the checkout, as a test would be."""
    from apiinv.sandbox.launch import Sandbox

    with pytest.MonkeyPatch.context() as env:
        for name in [n for n in os.environ if n.startswith("APIINV_")]:
            env.delenv(name)
        env.chdir(root)
        with Sandbox(size=40, seed=11, day=days[0]) as running:
            config_dir = running.write_config(root / "sandbox")
            cli = Cli(root / "output")
            for day in days:
                running.set_date(day)
                result = cli("--date", str(day), "run", "--all", *run_args, config_dir=config_dir)
                assert result.exit_code == 0, result.output
            return Reported(cli.output, config_dir, running.tools)


def copy_reports(template: Reported, to: Path) -> Reported:
    """A test's own copy of ``template`` in ``to``: the configuration's paths name the copy's files."""
    shutil.copytree(template.output, to / "output")
    shutil.copytree(template.config_dir, to / "sandbox")
    for name in ("tools.yaml", ".env"):
        path = to / "sandbox" / name
        path.write_text(path.read_text().replace(str(template.config_dir), str(to / "sandbox")))
    return Reported(to / "output", to / "sandbox", template.tools)


RUN_DATE = date(2026, 11, 23)


def load_tool(sandbox, name: str, **overrides):
    """The tool's configuration as apiinv loads it from the sandbox's files, with overrides."""
    import dataclasses

    from apiinv import config

    tool = config.load(sandbox.config_dir).tools[name]
    settings = {**tool.settings, **overrides.pop("settings", {})}
    return dataclasses.replace(tool, settings=settings, retry_backoff=0.01, retry_after_cap=1.0, **overrides)


def fetch(sandbox, name: str, tmp_path: Path, **overrides):
    """Collect one tool through the real collector; (outcome, raw document or None)."""
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store, read_json

    store = Store(tmp_path / "output")
    outcome = collect_tool(load_tool(sandbox, name, **overrides), store.at(RUN_DATE), use_cache=False)
    raw_path = store.raw_path(RUN_DATE, name)
    return outcome, (read_json(raw_path) if raw_path.exists() else None)


# ----------------------------------------------------------------------------------------- full disk


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MiB tmpfs: a real full disk (root only; CI runs as root)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
        ).returncode
    ):
        pytest.skip("needs root to mount a small tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(mount: Path) -> None:
    """Fill the file system of ``mount`` to the last block."""
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- SMTP


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"smtp-secret-value"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
        auth_required=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_env(sandbox, port: int, **extra: str) -> None:
    env = {
        "APIINV_SMTP_HOST": "127.0.0.1",
        "APIINV_SMTP_PORT": str(port),
        "APIINV_SMTP_SECURITY": "none",
        "APIINV_MAIL_FROM": "apiinv@acme.example",
        **extra,
    }
    with open(sandbox.config_dir / ".env", "a") as handle:
        handle.writelines(f"{k}={v}\n" for k, v in env.items())
