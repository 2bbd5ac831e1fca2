from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from conftest import RUN_DATE, fill_disk
from openpyxl import load_workbook

from apiinv.ops import locks
from apiinv.store import Store, read_json

DAY = str(RUN_DATE)


def test_run_with_one_tool_failing_is_partial_and_says_so_in_the_workbook(cli, sandbox) -> None:
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    result = cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 5, result.output
    store = Store(cli.output)
    folder = store.date_dir(DAY)
    for tool in ("42crunch", "apigee", "cequence"):
        assert (folder / f"{tool}-{DAY}.xlsx").exists() and store.step(DAY, tool, "process")["status"] == "ok"
    book = load_workbook(folder / f"api-inventory-{DAY}.xlsx", read_only=True)
    run_rows = list(book["Run"].iter_rows(values_only=True))
    kong = next(r for r in run_rows if r[0] == "kong" and r[1] == "collect")
    assert kong[2] == "failed" and "DATA_COLLECTION_ERROR" in kong[9]
    summary = next(r for r in book["Summary"].iter_rows(values_only=True) if r[0] == "kong")
    assert summary[1] == "failed"
    assert store.read_manifest(DAY)["runs"][-1]["exit_status"] == 5


def test_run_a_schedule_does_what_its_action_says(cli, sandbox) -> None:
    (sandbox.config_dir / "planner.yaml").write_text(
        'schedules:\n  collect_only:\n    cron: "0 2 * * *"\n    tools: ["kong", "cequence"]\n'
        "    job_type: collection\n"
    )
    result = cli("--date", DAY, "run", "--schedule", "collect_only", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    folder = Store(cli.output).date_dir(DAY)
    assert sorted(p.name for p in (folder / "raw").iterdir()) == ["cequence.json", "kong.json"]
    assert not (folder / "processed").exists() and not list(folder.glob("*.xlsx"))
    run = Store(cli.output).read_manifest(DAY)["runs"][-1]
    assert (run["schedule"], run["action"]) == ("collect_only", "collect")


@pytest.mark.sandbox_tools("kong")
def test_an_unknown_schedule_is_a_usage_error(cli, sandbox) -> None:
    (sandbox.config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    result = cli("--date", DAY, "run", "--schedule", "weekly", config_dir=sandbox.config_dir)
    assert result.exit_code == 2 and "no schedule 'weekly'" in result.output


def test_exit_75_when_another_run_of_the_schedule_holds_the_lock(cli, sandbox) -> None:
    (sandbox.config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    store = Store(cli.output)
    with locks.hold(store.lock_dir, "nightly"):
        result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 75
    assert f"nightly is already running (pid {os.getpid()}" in result.output
    assert not store.date_dir(DAY).exists()  # nothing was touched
    after = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert after.exit_code == 0  # the lock is free again


@pytest.mark.slow
def test_a_run_where_every_tool_fails_keeps_the_dates_good_reports(cli, sandbox) -> None:
    assert cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    folder = Store(cli.output).date_dir(DAY)
    workbook = folder / f"api-inventory-{DAY}.xlsx"
    before = workbook.read_bytes()
    sandbox.inject_everywhere("status", status=503, times=100_000, retry_after="0")
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("  api_base_url:", "  max_retries: 1\n  api_base_url:")
    )
    result = cli("--date", DAY, "run", "--all", "--no-cache", config_dir=sandbox.config_dir)
    # Every tool failed to collect (exit 4), but the date's earlier raw files were processed again.
    assert result.exit_code == 4, result.output
    assert "kong: ok:" in result.output and workbook.exists()
    before = workbook.read_bytes()
    for tool in sandbox.tools:
        (folder / "raw" / f"{tool}.json").unlink()
    (folder / "processed").rename(folder / "processed-gone")
    result = cli("--date", DAY, "run", "--all", "--no-cache", config_dir=sandbox.config_dir)
    assert result.exit_code == 4, result.output
    assert "reports not written (earlier reports of the date, if any, are kept)" in result.output
    assert workbook.read_bytes() == before


def test_quiet_prints_nothing_on_success_and_one_line_per_problem(cli, sandbox) -> None:
    ok = cli("--date", DAY, "--quiet", "run", "--all", config_dir=sandbox.config_dir)
    assert ok.exit_code == 0 and ok.output == ""
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    partial = cli("--date", DAY, "run", "--all", "-q", "--no-cache", config_dir=sandbox.config_dir)
    assert partial.exit_code == 5
    lines = partial.output.splitlines()
    assert len(lines) == 1 and "kong: FAILED: GET" in lines[0] and "[DATA_COLLECTION_ERROR" in lines[0]


def test_without_a_terminal_a_run_is_a_timestamped_timeline_between_header_and_closing_line(sandbox) -> None:
    import re
    import subprocess
    import sys

    (sandbox.config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "apiinv",
            "--config-dir",
            str(sandbox.config_dir),
            "--output",
            str(sandbox.config_dir / "out"),
            "--date",
            DAY,
            "run",
            "--schedule",
            "nightly",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 5, done.stderr
    stamped = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    lines = done.stderr.splitlines()
    assert re.fullmatch(rf"{stamped} == apiinv \S+: schedule nightly, date {DAY}, pid \d+", lines[0])
    states = ", ".join(f"{tool} {'failed' if tool == 'kong' else 'ok'}" for tool in sorted(sandbox.tools))
    assert re.fullmatch(rf"{stamped} == exit 5 after [\d.]+s: {states}", lines[-1]), lines[-1]
    assert any(re.match(rf"{stamped} kong: FAILED", line) for line in lines)
    # Reports on stdout, the timeline on stderr.
    assert "endpoints:" in done.stdout and "wrote " in done.stdout and "FAILED" not in done.stdout


def test_a_full_disk_fails_export_and_run_with_exit_4_one_line_naming_the_file_and_keeps_the_reports(
    cli, sandbox, tiny_disk
) -> None:
    def kong(command: str):
        return cli("--date", DAY, command, "kong", config_dir=sandbox.config_dir, output=tiny_disk)

    first = kong("run")
    assert first.exit_code == 0, first.output
    folder = tiny_disk / DAY
    reports = {path: path.read_bytes() for path in folder.glob("*-*.*")}
    assert folder / f"api-inventory-{DAY}.xlsx" in reports
    fill_disk(tiny_disk)

    exported = kong("export")
    assert exported.exit_code == 4, exported.output
    errors = [line for line in exported.output.splitlines() if "apiinv: " in line]
    assert len(errors) == 1 and "Traceback" not in exported.output, exported.output
    assert f"{folder / f'kong-{DAY}.xlsx'}: cannot write: disk full" in errors[0]

    ran = kong("run")
    assert ran.exit_code == 4, ran.output
    assert "Traceback" not in ran.output and "unexpected error" not in ran.output, ran.output
    assert any(str(folder) in line and "disk full" in line for line in ran.output.splitlines())
    assert {path: path.read_bytes() for path in folder.glob("*-*.*")} == reports


def shard(sandbox) -> tuple[list[str], list[str]]:
    """planner.yaml with two schedules: ``gateways`` takes the gateways, ``others`` every other tool."""
    from apiinv import config

    tools = config.load(sandbox.config_dir).tools.values()
    gateways = [t.name for t in tools if t.role == "gateway"]
    others = [t.name for t in tools if t.role != "gateway"]
    (sandbox.config_dir / "planner.yaml").write_text(
        "schedules:\n"
        f'  gateways:\n    cron: "0 1 * * *"\n    tools: {json.dumps(gateways)}\n    formats: ["json"]\n'
        f'  others:\n    cron: "0 2 * * *"\n    tools: {json.dumps(others)}\n    formats: ["json"]\n'
    )
    return gateways, others


def test_the_combined_report_stands_on_every_schedules_tools(cli, sandbox) -> None:
    shard(sandbox)
    for schedule in ("gateways", "others"):
        result = cli("--date", DAY, "run", "--schedule", schedule, config_dir=sandbox.config_dir)
        assert result.exit_code == 0, result.output
    folder = Store(cli.output).date_dir(DAY)
    report = json.loads((folder / f"api-inventory-{DAY}.json").read_bytes())
    assert sorted(report["tools"]) == sorted(sandbox.tools)
    assert {tool: (t["status"], t["data_date"]) for tool, t in report["run"]["tools"].items()} == {
        tool: ("ok", DAY) for tool in sandbox.tools
    }
    assert not report["run"]["incomplete"]
    seen_by = {name for row in report["records"] for name in row["tools"]}
    for tool in sandbox.tools:  # each tool's records name their source ("rest" reads as its product)
        processed = read_json(Store(cli.output).processed_path(DAY, tool))["records"]
        assert processed and {r["tool"] for r in processed} <= seen_by, tool
    gateway_keys = {row["endpoint_key"] for row in report["records"] if row["in_gateway"]}
    shadow = {entry["endpoint_key"] for entry in report["findings"]["shadow"]}
    assert gateway_keys and not shadow & gateway_keys
    # Per-tool reports stay per tool: each schedule wrote its own tools'.
    assert sorted(p.name for p in folder.glob(f"*-{DAY}.json")) == sorted(
        [f"api-inventory-{DAY}.json", *(f"{tool}-{DAY}.json" for tool in sandbox.tools)]
    )


def test_a_schedule_run_first_carries_the_other_schedules_tools_forward(cli, sandbox) -> None:
    gateways, others = shard(sandbox)
    earlier = str(RUN_DATE - timedelta(days=1))
    sandbox.set_date(RUN_DATE - timedelta(days=1))
    assert cli("--date", earlier, "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    sandbox.set_date(RUN_DATE)
    result = cli("--date", DAY, "run", "--schedule", "gateways", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    report = json.loads((Store(cli.output).date_dir(DAY) / f"api-inventory-{DAY}.json").read_bytes())
    tools = report["run"]["tools"]
    assert {tool: (tools[tool]["status"], tools[tool]["data_date"]) for tool in others} == {
        tool: ("not_run", earlier) for tool in others
    }
    assert (
        report["run"]["incomplete"] and f"cequence not_run, data of {earlier} used" in report["run"]["banner"]
    )
    assert {tools[tool]["data_date"] for tool in gateways} == {DAY}


@pytest.mark.sandbox_tools("kong", "cequence")
def test_a_library_user_gets_the_schedules_run_as_the_cli_does(sandbox) -> None:
    from apiinv import config
    from apiinv.errors import UsageError
    from apiinv.pipeline.run import RunPlan

    (sandbox.config_dir / "planner.yaml").write_text(
        "defaults:\n  mail_to: [ops@acme.example]\n"
        'schedules:\n  gateways:\n    cron: "0 1 * * *"\n    tools: ["kong"]\n    workers: 2\n'
        '    formats: ["json"]\n    job_type: collection\n    mail_to: [secops@acme.example]\n'
    )
    cfg = config.load(sandbox.config_dir)
    plan = RunPlan.resolve(cfg, schedule="gateways", only_on_change=True)
    assert (plan.names, plan.action, plan.workers, plan.formats, plan.lock) == (
        ["kong"],
        "collect",
        2,
        ["json"],
        "gateways",
    )
    assert plan.delivery is not None and plan.delivery.mail_to == ("secops@acme.example",)
    assert plan.delivery.only_on_change
    by_hand = RunPlan.resolve(cfg, tools=["cequence", "kong"], formats=["csv"])
    assert (by_hand.names, by_hand.action, by_hand.formats, by_hand.lock) == (
        ["cequence", "kong"],
        "run",
        ["csv"],
        "run-cequence-kong",
    )
    assert by_hand.delivery is not None and by_hand.delivery.mail_to == ("ops@acme.example",)
    with pytest.raises(UsageError, match=r"no schedule 'weekly' in planner\.yaml"):
        RunPlan.resolve(cfg, schedule="weekly")
    with pytest.raises(UsageError, match="not both"):
        RunPlan.resolve(cfg, schedule="gateways", tools=["kong"])
