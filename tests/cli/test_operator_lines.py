"""What an operator reads: every error line ends in its code and id, --log-json makes every console
line a JSON line, and a run's log always closes."""

from __future__ import annotations

import json
import re

import pytest
from conftest import RUN_DATE, smtp_env

from apiinv import __version__
from apiinv.ops import locks
from apiinv.store import Store

DAY = str(RUN_DATE)
ERROR_ID = r"\[{code} [0-9a-f]{{12}}\]"


def test_version_works_after_the_command_too(cli) -> None:
    for argv in (("--version", "status"), ("status", "--version")):
        result = cli(*argv)
        assert result.exit_code == 0 and result.output.strip() == f"apiinv {__version__}", argv


def test_a_usage_error_ends_in_its_code_and_id(cli) -> None:
    result = cli("run", "--bogus")
    assert result.exit_code == 2
    assert re.search(r"No such option: --bogus " + ERROR_ID.format(code="USAGE_ERROR"), result.output)


def test_mail_without_smtp_or_attachment_password_ends_in_code_and_id(cli, sandbox) -> None:
    assert cli("--date", DAY, "run", "kong", config_dir=sandbox.config_dir).exit_code == 0
    no_smtp = cli("--date", DAY, "mail", "--to", "ops@acme.example", config_dir=sandbox.config_dir)
    assert no_smtp.exit_code == 3
    assert re.search(
        r"APIINV_SMTP_HOST is not set .*" + ERROR_ID.format(code="CONFIGURATION_ERROR"), no_smtp.output
    )
    smtp_env(sandbox, 9)  # set, though never reached: the missing password stops it first
    no_password = cli(
        "--date", DAY, "mail", "--to", "ops@acme.example", "--encrypt", config_dir=sandbox.config_dir
    )
    assert no_password.exit_code == 3
    assert re.search(
        r"APIINV_ATTACHMENT_PASSWORD is not .*" + ERROR_ID.format(code="CONFIGURATION_ERROR"),
        no_password.output,
    )


def test_log_json_makes_header_tool_and_closing_lines_json(cli, sandbox) -> None:
    result = cli("--date", DAY, "--log-json", "run", "kong", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert messages[0].startswith(f"== apiinv {__version__}: run kong")
    assert any(m.startswith("kong: ") for m in messages)
    assert messages[-1].startswith("== exit 0 after ")


def test_a_run_refused_by_the_lock_still_closes_its_log(cli, sandbox) -> None:
    (sandbox.config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    with locks.hold(Store(cli.output).lock_dir, "nightly"):
        result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 75
    last = result.stderr.splitlines()[-1]
    assert re.search(r"== exit 75 after [\d.]+s: LOCK_HELD", last), result.stderr


STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ")


def test_without_a_terminal_every_error_line_is_timestamped(cli, tmp_path) -> None:
    """A cron log is a timeline: the problems and the closing error line carry the stamp too."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "tools.yaml").write_text("kong:\n  type: kong\n  page_size: many\n")
    (config / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    broken = cli("validate-config", config_dir=config)
    assert broken.exit_code == 3, broken.output
    failed = cli("--date", DAY, "run", "--schedule", "nosuch", config_dir=tmp_path / "nowhere")
    assert failed.exit_code != 0
    for result in (broken, failed):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert any("apiinv: " in line for line in lines), result.stderr
        assert all(STAMPED.match(line) for line in lines), result.stderr


@pytest.mark.sandbox_tools("kong")
def test_a_cron_log_holding_stdout_and_stderr_is_one_timeline(sandbox, tmp_path) -> None:
    """As cron runs it (`>> LOG 2>&1`): the result lines (the summary table, the files written) are
    stamped like the progress around them; piped or on a terminal they stay plain."""
    import subprocess
    import sys
    from pathlib import Path

    apiinv = Path(sys.executable).parent / "apiinv"
    argv = [str(apiinv), "--config-dir", str(sandbox.config_dir), "--output", str(tmp_path / "out")]
    log = tmp_path / "cron.log"
    with open(log, "ab") as handle:
        done = subprocess.run(
            [*argv, "--date", DAY, "run", "kong"], stdout=handle, stderr=handle, timeout=120
        )
    assert done.returncode == 0, log.read_text()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert any("wrote " in line for line in lines)
    assert [line for line in lines if not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line)] == []
    piped = subprocess.run([*argv, "--date", DAY, "run", "kong"], capture_output=True, text=True, timeout=120)
    assert any(line.startswith("wrote ") for line in piped.stdout.splitlines())
