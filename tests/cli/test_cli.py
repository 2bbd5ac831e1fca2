from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apiinv.cli import app


def command_paths() -> list[tuple[str, ...]]:
    import typer.main

    paths = []
    for name, command in typer.main.get_command(app).commands.items():
        paths.append((name,))
        paths += [(name, sub) for sub in getattr(command, "commands", {})]
    return sorted(paths)


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help(cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_schedule_list_explains_each_schedule(cli, plan_dir: Path) -> None:
    result = cli("--date", "2026-11-23", "schedule", "list", config_dir=plan_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "daily_collection: 0 2 * * * = At 02:00"
    assert lines[1] == "  action run; tools cequence, 42crunch, apigee; workers 4"
    assert lines[2].startswith("  next: ") and lines[2].count(",") == 2
    assert "monthly_report: 0 6 1 * * = At 06:00, on day 1 of the month" in lines


def test_top_level_help_lists_commands_without_importing_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from apiinv.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0 and 'validate-config' in result.output\n"
        "heavy = ('pandas', 'openpyxl', 'requests_cache', 'requests', 'jsonschema')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    heavy = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert heavy == ""


def test_version(cli) -> None:
    from apiinv import __version__

    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_exit_0_validate_config_on_the_plans_files(cli, plan_dir: Path) -> None:
    result = cli("validate-config", config_dir=plan_dir)
    assert result.exit_code == 0, result.output
    assert "planner.yaml: ok (3 schedules)" in result.output
    assert "tools.yaml: ok (3 tools)" in result.output
    # What only collecting needs is a warning until a command needs it.
    assert "42crunch.token_url: not set (needed before collecting with oauth)" in result.output
    assert "apigee.organization: not set" in result.output
    rendered = cli("schedule", "render", config_dir=plan_dir)
    assert rendered.exit_code == 0, rendered.output
    assert rendered.output.count("run --schedule") == 3
    collected = cli("--date", "2026-11-23", "collect", "42crunch", config_dir=plan_dir)
    assert (
        collected.exit_code == 4 and "token_url not set (needed to collect from 42crunch)" in collected.output
    )


def test_exit_2_on_usage_errors(cli, plan_dir: Path) -> None:
    assert cli("no-such-command").exit_code == 2
    assert cli("--date", "23/11/2026", "tools", config_dir=plan_dir).exit_code == 2
    assert cli("--log-level", "LOUD", "tools", config_dir=plan_dir).exit_code == 2


def test_exit_3_validate_config_names_every_fault(cli, plan_dir: Path) -> None:
    (plan_dir / "planner.yaml").write_text(
        'schedules:\n  daily:\n    cron: "0 25 * * *"\n    tools: ["ghost"]\n'
    )
    (plan_dir / "tools.yaml").write_text('kong:\n  api_base_url: "ftp://nope"\n  rate_limit: -1\n')
    result = cli("validate-config", config_dir=plan_dir)
    assert result.exit_code == 3
    for fragment in (
        "schedules.daily.cron: '0 25 * * *': hour 25 is out of range 0-23",
        "schedules.daily.tools[0]: unknown tool 'ghost'",
        "kong.api_base_url: 'ftp://nope' must be an http(s) URL or ${VAR}",
        "kong.rate_limit: -1 is less than or equal to the minimum of 0",
    ):
        assert fragment in result.output, result.output


def test_exit_3_when_a_command_meets_a_broken_config(cli, plan_dir: Path) -> None:
    (plan_dir / "tools.yaml").write_text("cequence: [unclosed\n")
    result = cli("tools", config_dir=plan_dir)
    assert result.exit_code == 3
    assert f"{plan_dir / 'tools.yaml'}: line 2, column 1: YAML syntax error" in result.output


def test_an_unwritable_output_costs_only_the_log_file(cli, plan_dir: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = cli("tools", config_dir=plan_dir, output=not_a_folder)
    assert result.exit_code == 0  # listing tools writes nothing: it still works
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(not_a_folder / "logs") in warnings[0]


def test_tools_lists_types_auth_and_missing_credentials(cli, plan_dir: Path) -> None:
    result = cli("tools", config_dir=plan_dir)
    assert result.exit_code == 0
    configured = result.output.split("\n\n")[0]  # the shipped presets follow
    lines = {line.split()[0]: line for line in configured.splitlines()[1:]}
    assert "api_key" in lines["cequence"] and "missing: APIINV_CEQUENCE_API_KEY" in lines["cequence"]
    assert "missing: APIINV_APIGEE_KEY_FILE or APIINV_APIGEE_TOKEN" in lines["apigee"]


def test_tools_lists_the_shipped_presets_with_vendor_role_and_what_each_lists(cli, plan_dir: Path) -> None:
    result = cli("tools", config_dir=plan_dir)
    assert result.exit_code == 0, result.output
    listed = result.output.split("\n\n", 1)[1].splitlines()
    assert "preset: NAME" in listed[0] and listed[1].split() == ["PRESET", "ROLE", "LISTS"]
    rows = {line.split()[0]: line.split(None, 2) for line in listed[2:]}
    assert set(rows) == {"akto", "azure_apim", "backstage", "cequence", "tyk", "wallarm", "wso2"}
    assert rows["azure_apim"][1] == "gateway" and rows["azure_apim"][2].startswith("Azure API Management: ")
    assert rows["backstage"][1] == "spec" and rows["akto"][1] == "traffic"


def test_tools_shows_present_credentials_from_the_env_file(cli, plan_dir: Path) -> None:
    (plan_dir / ".env").write_text("APIINV_CEQUENCE_API_KEY=api_1234\n")
    result = cli("tools", config_dir=plan_dir)
    line = next(line for line in result.output.splitlines() if line.startswith("cequence"))
    assert line.endswith("present")
    assert "api_1234" not in result.output


def test_global_options_work_after_the_command_and_from_the_environment(
    cli, plan_dir: Path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from apiinv.cli import app

    after = CliRunner().invoke(app, ["validate-config", "--config-dir", str(plan_dir), "-q"])
    assert after.exit_code == 0, after.output
    monkeypatch.setenv("APIINV_CONFIG_DIR", str(plan_dir))
    from_env = CliRunner().invoke(app, ["validate-config"])
    assert from_env.exit_code == 0 and "tools.yaml: ok (3 tools)" in from_env.output
    status = CliRunner().invoke(app, ["status", "--date", "2026-11-23", "--output", str(cli.output)])
    assert "No such option" not in status.output
    assert f"no runs yet in {cli.output}" in status.output  # both options after the command were taken


def test_hoisting_leaves_command_options_and_arguments_alone() -> None:
    from apiinv.cli import hoist_global_options

    assert hoist_global_options(["run", "--all", "--config-dir", "X", "--date=2026-01-01", "-q"]) == [
        "--config-dir",
        "X",
        "--date=2026-01-01",
        "-q",
        "run",
        "--all",
    ]
    assert hoist_global_options(["--config-dir", "run", "run", "kong"]) == [
        "--config-dir",
        "run",
        "run",
        "kong",
    ]
    assert hoist_global_options(["excel", "f.xlsx", "--", "--date"]) == ["excel", "f.xlsx", "--", "--date"]
