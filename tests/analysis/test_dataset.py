"""What a date's report stands on: carried-forward data, the run-date clock, baselines, distinct counts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import build_reports, copy_reports, smtp_env
from openpyxl import load_workbook

from apiinv.store import Store

DAY1, DAY2 = "2026-11-22", "2026-11-23"


def run(cli, sandbox, day: str, *args: str):
    sandbox.set_date(date.fromisoformat(day))
    return cli("--date", day, "run", "--all", *args, config_dir=sandbox.config_dir)


def report(cli, day: str) -> dict:
    return json.loads((cli.output / day / f"api-inventory-{day}.json").read_text())


def summary_cells(cli, day: str, name: str = "api-inventory") -> list[str]:
    book = load_workbook(cli.output / day / f"{name}-{day}.xlsx", read_only=True)
    return [str(c) for row in book["Summary"].iter_rows(values_only=True) for c in row if c is not None]


def break_credentials(sandbox, variable: str) -> None:
    env = sandbox.config_dir / ".env"
    lines = [
        f"{variable}=api_00000000-0000-4000-8000-000000000000" if line.startswith(variable) else line
        for line in env.read_text().splitlines()
    ]
    env.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def day_one_built(tmp_path_factory):
    return build_reports(tmp_path_factory.mktemp("day-one"), [date.fromisoformat(DAY1)])


@pytest.fixture
def day_one(day_one_built, tmp_path):
    """A first complete run of DAY1: this test's copy of the reports built once for the module."""
    return copy_reports(day_one_built, tmp_path)


def test_the_first_run_is_a_baseline_with_nothing_new(cli, day_one) -> None:
    document = report(cli, DAY1)
    assert document["summary"]["baseline"] == sorted(day_one.tools)
    assert document["summary"]["changes"]["new"] == 0 and document["changes"] == []
    assert all(t["baseline"] for t in document["run"]["tools"].values())
    assert any(c.startswith("Baseline: first complete run of") for c in summary_cells(cli, DAY1))


def test_a_tool_failing_on_day_two_stands_in_with_day_ones_data(cli, sandbox, smtp) -> None:
    assert run(cli, sandbox, DAY1).exit_code == 0
    day1 = report(cli, DAY1)
    break_credentials(sandbox, "APIINV_42CRUNCH_API_KEY")
    inbox, port = smtp
    smtp_env(sandbox, port)
    result = run(cli, sandbox, DAY2, "--mail-to", "secops@acme.example")
    assert result.exit_code == 5, result.output

    day2 = report(cli, DAY2)
    crunch = day2["run"]["tools"]["42crunch"]
    assert (crunch["status"], crunch["data_date"]) == ("failed", DAY1)
    assert crunch["records"] == day1["run"]["tools"]["42crunch"]["records"] > 0
    assert day2["run"]["incomplete"] is True
    assert "42crunch failed, data of 2026-11-22 used" in day2["run"]["banner"]
    assert all(day2["run"]["tools"][t]["data_date"] == DAY2 for t in ("apigee", "cequence", "kong"))
    # Findings stand on the carried audit data: not every endpoint turns "unaudited".
    unaudited, endpoints = day2["summary"]["findings"]["unaudited"], day2["summary"]["endpoints"]
    assert unaudited < 0.8 * endpoints
    assert abs(unaudited - day1["summary"]["findings"]["unaudited"]) <= 0.2 * endpoints
    assert "42crunch failed, data of 2026-11-22 used" in day2["summary"]["finding_notes"]["unaudited"]
    assert not [c for c in day2["changes"] if c["tool"] == "42crunch"]  # no removals from a failed tool

    cells = summary_cells(cli, DAY2)
    assert any(c.startswith("Incomplete:") and "42crunch failed, data of 2026-11-22 used" in c for c in cells)
    assert any("data of 2026-11-22" in c for c in summary_cells(cli, DAY2, "42crunch"))

    (message,) = inbox.messages
    assert "(INCOMPLETE)" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "42crunch failed, data of 2026-11-22 used" in text


def test_nothing_is_carried_past_carry_forward_days(cli, sandbox) -> None:
    from apiinv import registry

    assert run(cli, sandbox, DAY1).exit_code == 0
    for tool in sandbox.tools:  # every source of spec data fails
        if registry.role_of(tool) == "spec":
            sandbox.simulators[tool].inject("status", status=500, times=100_000)
    (sandbox.config_dir / "planner.yaml").write_text(
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\nanalysis:\n  carry_forward_days: 0\n'
    )
    assert run(cli, sandbox, DAY2).exit_code == 5
    day2 = report(cli, DAY2)
    assert day2["run"]["tools"]["42crunch"]["data_date"] is None
    assert day2["summary"]["findings"]["unaudited"] == 0  # not computed rather than inflated
    assert day2["summary"]["finding_notes"]["unaudited"] == "not computed: no spec data this run"


def test_a_listing_stopped_by_the_page_cap_is_truncated_and_carried_forward(cli, sandbox) -> None:
    assert run(cli, sandbox, DAY1).exit_code == 0
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("kong:\n", "kong:\n  max_pages: 1\n  page_size: 5\n")
    )
    result = run(cli, sandbox, DAY2)
    assert result.exit_code == 5, result.output
    assert "kong: TRUNCATED: listing" in result.output and "raise max_pages (1)" in result.output
    day2 = report(cli, DAY2)
    assert (day2["run"]["tools"]["kong"]["status"], day2["run"]["tools"]["kong"]["data_date"]) == (
        "truncated",
        DAY1,
    )
    assert not (cli.output / DAY2 / "raw" / "kong.json").exists()  # a partial listing is never written
    assert not [c for c in day2["changes"] if c["tool"] == "kong" and c["change"] == "removed"]


def _processed(store: Store, day: str, tool: str, kind: str, paths: list[str]) -> None:
    from apiinv.inventory.records import make_record
    from apiinv.store import write_json

    records = [
        make_record(
            tool=kind,
            instance=tool,
            collected_at=None,
            api_id=p,
            api_name=None,
            host="api.x",
            base_path="",
            method="GET",
            path=p,
            status="active" if kind == "cequence" else "deployed",
        )
        for p in paths
    ]
    write_json(store.processed_path(day, tool), {"records": records})
    store.record_step(day, tool, "collect", {"status": "ok", "type": kind})
    store.record_step(day, tool, "process", {"status": "ok", "type": kind})


@pytest.mark.parametrize(("age", "stands_in"), [(3, True), (4, False)])
def test_data_exactly_carry_forward_days_old_stands_in_and_a_day_older_does_not(
    tmp_path: Path, age: int, stands_in: bool
) -> None:
    from datetime import timedelta

    from apiinv.config import Analysis
    from apiinv.pipeline.assemble import build

    store = Store(tmp_path)
    earlier = str(date.fromisoformat(DAY2) - timedelta(days=age))
    _processed(store, earlier, "kong", "kong", ["/v1/a", "/v1/b"])
    _processed(store, DAY2, "cequence", "cequence", ["/v1/a"])
    store.record_step(DAY2, "kong", "collect", {"status": "failed", "type": "kong"})
    data = build(store.at(date.fromisoformat(DAY2)), ["kong", "cequence"], Analysis(carry_forward_days=3))
    kong = data.run_section()["tools"]["kong"]
    expected = (earlier, 2) if stands_in else (None, 0)
    assert (kong["status"], kong["data_date"], kong["records"]) == ("failed", *expected)
    assert ("GET api.x/v1/b" in {r["endpoint_key"] for r in data.merged}) is stands_in


def test_change_counts_are_distinct_endpoints(tmp_path: Path) -> None:
    from apiinv.config import Analysis
    from apiinv.pipeline.assemble import build

    store = Store(tmp_path)
    for day, extra in ((DAY1, []), (DAY2, ["/v1/new"])):
        _processed(store, day, "kong", "kong", ["/v1/a", "/v1/b", *extra])
        _processed(store, day, "cequence", "cequence", ["/v1/a", *extra])
    data = build(store.at(date.fromisoformat(DAY2)), ["kong", "cequence"], Analysis())
    assert [(r["tool"], r["change"]) for r in data.change_rows()] == [("kong", "new"), ("cequence", "new")]
    assert data.summary()["changes"]["new"] == 1  # one endpoint, new in two tools
    assert data.summary("kong")["changes"]["new"] == 1 and data.summary()["baseline"] == []


def test_a_per_tool_workbook_describes_that_tool_only(cli, day_one) -> None:
    whole = report(cli, DAY1)["summary"]
    kong = json.loads((cli.output / DAY1 / f"kong-{DAY1}.json").read_text())["summary"]
    assert 0 < kong["endpoints"] < whole["endpoints"]
    assert list(kong["records"]) == ["kong"]
    assert all(kong["findings"][n] <= whole["findings"][n] for n in whole["findings"])
    cells = summary_cells(cli, DAY1, "kong")
    assert "Endpoints kong sees" in cells and "apigee" not in cells


@pytest.mark.skipif(not shutil.which("faketime"), reason="needs faketime (.ci/run installs it)")
def test_findings_do_not_depend_on_the_wall_clock(cli, day_one, tmp_path: Path) -> None:
    exports = []
    for wall_clock in ("2026-11-23 08:00:00", "2031-06-01 12:00:00"):
        output = tmp_path / wall_clock[:4]
        shutil.copytree(cli.output, output)
        subprocess.run(
            [
                "faketime",
                wall_clock,
                sys.executable,
                "-m",
                "apiinv",
                "--config-dir",
                str(day_one.config_dir),
                "--output",
                str(output),
                "--date",
                DAY1,
                "export",
            ],
            check=True,
            capture_output=True,
        )
        document = json.loads((output / DAY1 / f"api-inventory-{DAY1}.json").read_text())
        exports.append((document["findings"], document["run"]["clock"], document["generated_at"][:4]))
    (first, clock1, year1), (second, clock2, year2) = exports
    assert (year1, year2) == ("2026", "2031")  # the wall clocks really differed
    assert first == second and clock1 == clock2 == "2026-11-23T00:00:00Z"
    assert first["orphan"] or first["unaudited"]  # ages were measured: there is something to compare


def test_the_same_store_gives_the_same_findings_on_every_export(cli, day_one) -> None:
    first = report(cli, DAY1)["findings"]
    assert cli("--date", DAY1, "export", config_dir=day_one.config_dir).exit_code == 0
    assert report(cli, DAY1)["findings"] == first
    assert Store(cli.output).read_manifest(DAY1)["report"]["summary"]["incomplete"] is False


@pytest.mark.slow
def test_the_trend_covers_the_reported_runs_up_to_the_date_only(cli, sandbox) -> None:
    days = ["2026-11-21", DAY1, DAY2]
    for day in days:
        assert run(cli, sandbox, day).exit_code == 0
    trend = report(cli, DAY2)["trend"]
    assert [p["date"] for p in trend] == days
    assert trend[-1]["endpoints"] == report(cli, DAY2)["summary"]["endpoints"]
    assert all(set(p["findings"]) == set(report(cli, DAY2)["findings"]) for p in trend)
    assert any(c == "Trend: the last 3 reported runs" for c in summary_cells(cli, DAY2))
    # A re-export of a past date shows the trend up to that date, not what came after it.
    assert cli("--date", DAY1, "export", config_dir=sandbox.config_dir).exit_code == 0
    assert [p["date"] for p in report(cli, DAY1)["trend"]] == days[:2]
