"""Each run leaves its metrics for node_exporter's textfile collector: what a Prometheus user alerts on
(tool statuses, records, exit status), in a file promtool accepts, readable by node_exporter, with no
secret in it; and docs/monitoring.md lists exactly the metrics written."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import RUN_DATE
from prometheus_client.parser import text_string_to_metric_families

from apiinv.ops import locks
from apiinv.store import Store, read_json

DAY = str(RUN_DATE)
ROOT = Path(__file__).resolve().parents[2]


def samples(path: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """(metric name, its labels) -> value, read with Prometheus' own parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@contextlib.contextmanager
def umask(mask: int):
    """cron's umask (install_cron.sh runs apiinv under 077): what the file's mode must not depend on."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def planner(sandbox, metrics_file: str) -> None:
    (sandbox.config_dir / "planner.yaml").write_text(
        f'defaults:\n  metrics_file: "{metrics_file}"\n'
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\n    tools: ["all"]\n'
    )


def test_a_scheduled_run_writes_what_a_prometheus_user_alerts_on(cli, sandbox, tmp_path: Path) -> None:
    textfiles = tmp_path / "textfile_collector"
    textfiles.mkdir()
    planner(sandbox, f"{textfiles}/apiinv-{{schedule}}.prom")
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    sandbox.apps["cequence"].inject("status", status=503, times=2, retry_after="0")
    with umask(0o077):
        result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 5, result.output

    path = textfiles / "apiinv-nightly.prom"  # {schedule}: one file per schedule from one defaults entry
    assert sorted(p.name for p in textfiles.iterdir()) == ["apiinv-nightly.prom"]  # no temporary left
    found = samples(path)
    assert value(found, "apiinv_run_exit_status", schedule="nightly") == 5
    assert value(found, "apiinv_run_duration_seconds", schedule="nightly") > 0
    report = read_json(Store(cli.output).date_dir(DAY) / f"api-inventory-{DAY}.json")
    for tool in sandbox.tools:
        expected = "failed" if tool == "kong" else "ok"
        for status in ("ok", "partial", "truncated", "failed", "not_run"):
            one_hot = value(found, "apiinv_tool_status", schedule="nightly", tool=tool, status=status)
            assert one_hot == (status == expected), (tool, status)
        records = value(found, "apiinv_tool_records", schedule="nightly", tool=tool)
        assert records == report["summary"]["records"][tool], tool
    assert value(found, "apiinv_tool_records", schedule="nightly", tool="cequence") > 0
    # kong failed and never succeeded before: no last success, no data date; the others have both.
    store = Store(cli.output)
    for name in ("apiinv_tool_last_success_timestamp_seconds", "apiinv_tool_data_date_timestamp_seconds"):
        assert (name, frozenset({("schedule", "nightly"), ("tool", "kong")})) not in found
    finished = datetime.fromisoformat(store.step(DAY, "apigee", "collect")["finished_at"])
    last_success = value(
        found, "apiinv_tool_last_success_timestamp_seconds", schedule="nightly", tool="apigee"
    )
    assert last_success == finished.timestamp()
    data_date = value(found, "apiinv_tool_data_date_timestamp_seconds", schedule="nightly", tool="apigee")
    assert data_date == datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    for tool in sandbox.tools:  # as the manifest counts them
        step = store.step(DAY, tool, "collect")
        assert value(found, "apiinv_tool_requests", schedule="nightly", tool=tool) == step["requests"]
        assert value(found, "apiinv_tool_retries", schedule="nightly", tool=tool) == step["retries"]
    assert value(found, "apiinv_tool_requests", schedule="nightly", tool="kong") > 0
    assert value(found, "apiinv_tool_retries", schedule="nightly", tool="cequence") == 2
    for finding, count in report["summary"]["findings"].items():
        assert value(found, "apiinv_findings", schedule="nightly", finding=finding) == count

    # node_exporter runs as its own user: the file is world-readable whatever the umask, and holds no secret.
    assert path.stat().st_mode & 0o777 == 0o644
    text = path.read_text()
    secrets = [
        line.split("=", 1)[1]
        for line in (sandbox.config_dir / ".env").read_text().splitlines()
        if "=" in line
    ]
    secrets = [s for s in secrets if len(s) >= 8 and not s.startswith(("/", "http"))]
    assert secrets and not [s for s in secrets if s in text]


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian package `prometheus`)"
)
def test_promtool_accepts_the_file(cli, sandbox, tmp_path: Path) -> None:
    path = tmp_path / "apiinv.prom"
    result = cli("--date", DAY, "run", "--all", "--metrics-file", str(path), config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    check = subprocess.run(
        ["promtool", "check", "metrics"], input=path.read_bytes(), capture_output=True, timeout=30
    )
    assert check.returncode == 0 and not check.stdout and not check.stderr, check


def test_a_run_that_fails_on_the_way_still_writes_its_exit_status(cli, sandbox, tmp_path: Path) -> None:
    path = tmp_path / "apiinv.prom"
    (sandbox.config_dir / "planner.yaml").write_text(
        f'defaults:\n  metrics_file: "{path}"\n'
        'schedules:\n  report:\n    cron: "0 2 * * *"\n    action: export\n'
    )
    # Nothing was collected for the date: the export has nothing to report and the run ends in an error.
    result = cli("--date", DAY, "run", "--schedule", "report", config_dir=sandbox.config_dir)
    assert result.exit_code == 4, result.output
    found = samples(path)
    assert value(found, "apiinv_run_exit_status", schedule="report") == 4
    assert not [key for key in found if key[0] == "apiinv_tool_status"]


def test_a_metrics_file_that_cannot_be_written_is_a_warning_only(cli, sandbox, tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "apiinv.prom"
    result = cli("--date", DAY, "run", "--all", "--metrics-file", str(path), config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    assert f"metrics: not written to {path}" in result.output and not path.exists()


def test_a_run_refused_by_the_lock_leaves_the_running_ones_metrics(cli, sandbox, tmp_path: Path) -> None:
    path = tmp_path / "apiinv.prom"
    planner(sandbox, str(path))
    with locks.hold(Store(cli.output).lock_dir, "nightly"):
        result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 75 and not path.exists()


def test_a_metrics_file_not_ending_in_prom_is_refused(cli, sandbox, tmp_path: Path) -> None:
    planner(sandbox, str(tmp_path / "apiinv.txt"))
    result = cli("validate-config", config_dir=sandbox.config_dir)
    assert result.exit_code == 3, result.output
    assert "defaults.metrics_file:" in result.output and "must end in .prom" in result.output
    option = cli("run", "--all", "--metrics-file", "apiinv.txt", config_dir=sandbox.config_dir)
    assert option.exit_code == 2 and ".prom" in option.output


def test_the_documented_metrics_are_the_ones_written(cli, sandbox, tmp_path: Path) -> None:
    path = tmp_path / "apiinv.prom"
    result = cli("--date", DAY, "run", "--all", "--metrics-file", str(path), config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    written = {}
    for family in text_string_to_metric_families(path.read_text()):
        labels = {label for sample in family.samples for label in sample.labels}
        written[family.name] = (labels, family.documentation)
    page = (ROOT / "docs" / "monitoring.md").read_text()
    documented = {
        name: {label.strip(" `") for label in labels.split(",")}
        for name, labels in re.findall(r"^\| `(apiinv_[a-z_]+)` \| ([^|]+) \|", page, re.M)
    }
    assert documented == {name: labels for name, (labels, _) in written.items()}
    assert all(help_text for _, help_text in written.values())
