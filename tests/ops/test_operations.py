"""Run locks across real processes, status and retention."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from conftest import RUN_DATE

from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store, write_json

DAY = str(RUN_DATE)
APIINV = str(Path(sys.executable).parent / "apiinv")


def test_two_concurrent_runs_of_one_schedule(tmp_path: Path) -> None:
    with Sandbox(size=40, seed=4, day=RUN_DATE, latency=0.03) as sandbox:
        config_dir = sandbox.write_config(tmp_path / "sb")
        (config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
        output = tmp_path / "output"
        argv = [
            APIINV,
            "--date",
            DAY,
            "--config-dir",
            str(config_dir),
            "--output",
            str(output),
            "run",
            "--schedule",
            "nightly",
            "--no-cache",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIINV_")}
        first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lock = output / ".locks" / "nightly.lock"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
            time.sleep(0.05)
        second = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        _, first_err = first.communicate(timeout=300)
    assert second.returncode == 75, second.stderr
    assert f"nightly is already running (pid {first.pid}" in second.stderr
    assert first.returncode == 0, first_err
    store = Store(output)
    assert [run["schedule"] for run in store.read_manifest(DAY)["runs"]] == ["nightly"]
    assert (store.date_dir(DAY) / f"api-inventory-{DAY}.xlsx").exists()


def test_status_shows_steps_counts_and_the_last_run_per_schedule(cli, sandbox) -> None:
    (sandbox.config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    result = cli("status", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"date {DAY}"
    assert any(line.split()[:3] == ["cequence", "collect", "ok"] for line in lines)
    assert any(
        line.split()[:3] == ["kong", "collect", "failed"] and "DATA_COLLECTION_ERROR" in line
        for line in lines
    )
    assert any("nightly" in line and "exit 5" in line for line in lines)
    document = json.loads(cli("status", "--json", config_dir=sandbox.config_dir).output)
    assert document["tools"]["kong"]["collect"]["status"] == "failed"
    assert document["last_runs"]["nightly"]["exit_status"] == 5


def test_status_columns_line_up_for_long_tool_names(cli, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "specs").mkdir(parents=True)
    (config / "specs" / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: Payments, version: '1'}\nservers: [{url: https://pay.example}]\n"
        "paths:\n  /orders:\n    get:\n      responses: {'200': {description: ok}}\n"
    )
    (config / "tools.yaml").write_text(
        "payments-openapi-repository:\n  type: openapi_specs\n  paths: [specs]\n"
    )
    assert cli("--date", DAY, "collect", "--all", config_dir=config).exit_code == 0
    lines = cli("--date", DAY, "status", config_dir=config).output.splitlines()
    header = next(line for line in lines if line.startswith("tool "))
    rows = [line for line in lines if line.startswith("payments-openapi-repository ")]
    assert rows, lines
    for row in rows:  # each column starts where its header does
        for heading, value in (("step", "collect"), ("status", "ok")):
            assert row.index(f" {value} ") == header.index(f" {heading} "), [header, row]


def test_status_without_runs_says_so(cli, tmp_path: Path) -> None:
    result = cli("status")
    assert result.exit_code == 2 and "no runs yet" in result.output


def test_cleanup_keeps_the_newest_complete_run(cli, tmp_path: Path) -> None:
    store = Store(cli.output)
    days = [RUN_DATE - timedelta(days=n) for n in (40, 30, 20, 3, 1)]
    for day in days:
        write_json(store.raw_path(day, "kong"), {"x": "y" * 1000})
    # the newest complete run (with reports) is 30 days old; the newer dates failed
    store.record_report(days[1], {"workbook": "w.xlsx"})
    store.record_report(days[0], {"workbook": "w.xlsx"})
    old_log = store.log_dir / "apiinv.log.3"
    write_json(old_log, {})
    os.utime(old_log, (time.time() - 90 * 86400,) * 2)
    dry = cli("--date", DAY, "cleanup", "--max-age", "10", "--dry-run")
    assert dry.exit_code == 0
    assert f"would delete {store.date_dir(days[0])}" in dry.output and str(old_log) in dry.output
    assert f"kept the newest complete run {days[1]}" in dry.output
    assert all(store.date_dir(d).exists() for d in days)
    result = cli("--date", DAY, "cleanup", "--max-age", "10")
    assert result.exit_code == 0 and "deleted 3 item(s)" in result.output
    assert [d for d in days if store.date_dir(d).exists()] == days[1:2] + days[3:]
    assert not old_log.exists()


def test_a_crashed_runs_lock_frees_itself(tmp_path: Path) -> None:
    import signal

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from apiinv.ops import locks\n"
            "with locks.hold(Path(sys.argv[1]), 'nightly'):\n    print('held', flush=True); time.sleep(60)",
            str(tmp_path / ".locks"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    from apiinv.errors import LockHeldError
    from apiinv.ops import locks

    try:
        with locks.hold(tmp_path / ".locks", "nightly"):
            raise AssertionError("the lock should be held")
    except LockHeldError as exc:
        assert f"pid {holder.pid}" in str(exc)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with locks.hold(tmp_path / ".locks", "nightly") as path:
        assert path.read_text().strip() == str(os.getpid())


def test_cleanup_never_deletes_a_date_a_run_is_using(cli, tmp_path: Path) -> None:
    from apiinv.ops import locks

    store = Store(cli.output)
    running = RUN_DATE - timedelta(days=20)  # a backfill of an old date, still collecting: no report
    write_json(store.raw_path(running, "kong"), {"x": "y"})
    folder = store.date_dir(running)
    with locks.use_date(folder):  # what every run, collect, process and export of the date holds
        dry = cli("--date", DAY, "cleanup", "--max-age", "10", "--dry-run")
        result = cli("--date", DAY, "cleanup", "--max-age", "10")
    assert dry.exit_code == 0 and f"kept {folder}: a run is using it" in dry.output
    assert result.exit_code == 0, result.output
    assert f"kept {folder}: a run is using it" in result.output and "deleted 0 item(s)" in result.output
    assert store.raw_path(running, "kong").exists()
    after = cli("--date", DAY, "cleanup", "--max-age", "10")  # the run is over: the date may go
    assert f"deleted {folder}" in after.output and not folder.exists()


def test_status_tells_a_running_run_from_a_killed_one(cli, tmp_path: Path) -> None:
    import signal
    import socket

    silent = socket.create_server(("127.0.0.1", 0))  # takes connections, never answers
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "tools.yaml").write_text(
        f"kong:\n  api_base_url: http://127.0.0.1:{silent.getsockname()[1]}\n"
    )
    (config_dir / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    argv = [APIINV, "--date", DAY, "--config-dir", str(config_dir), "--output", str(cli.output)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIINV_")}
    run = subprocess.Popen([*argv, "run", "--schedule", "nightly"], stderr=subprocess.DEVNULL, env=env)
    store = Store(cli.output)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            store.manifest_path(DAY).exists() and store.read_manifest(DAY).get("runs")
        ):
            time.sleep(0.02)
        running = json.loads(cli("--date", DAY, "status", "--json").output)
        assert running["last_runs"]["nightly"]["state"] == "running"
        assert (
            f"nightly              {DAY} run              running since"
            in cli("--date", DAY, "status").output
        )
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        silent.close()
    text = cli("--date", DAY, "status").output
    assert f"nightly              {DAY} run              KILLED: started" in text, text
    assert f"(pid {run.pid}), never ended" in text
    document = json.loads(cli("--date", DAY, "status", "--json").output)
    assert document["last_runs"]["nightly"]["state"] == "killed"
    assert [r["state"] for r in document["runs"]] == ["killed"]
