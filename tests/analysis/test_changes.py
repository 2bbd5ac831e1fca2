from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from conftest import RUN_DATE

from apiinv.analysis.changes import DIFFED, diff_records
from apiinv.config import Analysis
from apiinv.inventory.records import make_record
from apiinv.pipeline.assemble import change_set
from apiinv.store import Store, write_json


def record(path: str, **fields):
    return make_record(
        tool="kong",
        instance="kong",
        collected_at=None,
        api_id="x",
        api_name="x",
        host="h",
        base_path="",
        method="GET",
        path=path,
        status="deployed",
        **fields,
    )


def test_new_removed_and_changed_fields_are_named() -> None:
    old = [record("/a", auth_required=True), record("/b"), record("/c", auth_types=["jwt"])]
    new = [record("/a", auth_required=False), record("/c", auth_types=["jwt", "api_key"]), record("/d")]
    changes = diff_records("kong", old, new)
    assert [r["endpoint_key"] for r in changes.new] == ["GET h/d"]
    assert [r["endpoint_key"] for r in changes.removed] == ["GET h/b"]
    changed = {r["endpoint_key"]: r for r in changes.changed}
    assert changed["GET h/a"]["fields"] == "auth_required"
    assert (changed["GET h/a"]["before"], changed["GET h/a"]["after"]) == (
        "auth_required=True",
        "auth_required=False",
    )
    assert changed["GET h/c"]["after"] == "auth_types=jwt, api_key"


def test_a_diff_reads_no_field_but_those_named_diffed() -> None:
    """The earlier side of a change set is read with only these fields: one the diff read besides would
    be missing there, and every endpoint would look changed."""
    old = [record("/a", auth_required=True, risk_level="high"), record("/b", products=["p"]), record("/c")]
    new = [
        record("/a", auth_required=False, risk_level="high"),
        record("/c", sensitive_data=["pii"]),
        record("/d"),
    ]

    def slim(records):
        return [{name: r.get(name) for name in DIFFED} for r in records]

    whole = diff_records("kong", old, new)
    assert whole.rows() and diff_records("kong", slim(old), slim(new)) == whole


def test_a_sudden_drop_holds_removals_back() -> None:
    old = [record(f"/r{i}") for i in range(100)]
    changes = diff_records("kong", old, old[:30], drop_guard=0.5)
    assert changes.removed == [] and changes.held_back == 70 and "suspect" in changes.note
    assert len(diff_records("kong", old, old[:60], drop_guard=0.5).removed) == 40


def _collect_and_process(cli, sandbox, day: date, *tools: str) -> None:
    sandbox.set_date(day)
    cli("--date", str(day), "collect", *tools, config_dir=sandbox.config_dir)
    cli("--date", str(day), "process", *tools, config_dir=sandbox.config_dir)


def test_a_failed_tool_in_between_gives_no_false_removals(cli, sandbox) -> None:
    day1, day2, day3 = RUN_DATE - timedelta(days=2), RUN_DATE - timedelta(days=1), RUN_DATE
    store = Store(cli.output)
    _collect_and_process(cli, sandbox, day1, "--all")
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    _collect_and_process(cli, sandbox, day2, "--all")
    sandbox.apps["kong"].faults.clear()
    assert store.step(day2, "kong", "process")["status"] == "failed"
    on_day2 = {c.tool: c for c in change_set(store.at(day2), ["kong", "cequence"], Analysis())}
    assert on_day2["kong"].rows() == [] and on_day2["kong"].note.startswith("not compared")
    assert on_day2["cequence"].previous_date == str(day1)
    _collect_and_process(cli, sandbox, day3, "--all")
    on_day3 = {c.tool: c for c in change_set(store.at(day3), ["kong", "apigee"], Analysis())}
    assert on_day3["kong"].previous_date == str(day1)  # the last complete run, not the failed one
    kong1 = {r["endpoint_key"] for r in _processed(store, day1, "kong")}
    kong3 = {r["endpoint_key"] for r in _processed(store, day3, "kong")}
    assert {r["endpoint_key"] for r in on_day3["kong"].removed} == kong1 - kong3
    assert {r["endpoint_key"] for r in on_day3["kong"].new} == kong3 - kong1
    assert len(on_day3["kong"].new) < len(kong3) / 2  # not "everything is new" after the failed day
    truth_before = {r["endpoint_key"] for r in _processed(store, day2, "apigee")}
    truth_after = {r["endpoint_key"] for r in _processed(store, day3, "apigee")}
    assert {r["endpoint_key"] for r in on_day3["apigee"].new} == truth_after - truth_before
    assert {r["endpoint_key"] for r in on_day3["apigee"].removed} == truth_before - truth_after


def _processed(store: Store, day: date, tool: str):
    from apiinv.store import read_json

    return read_json(store.processed_path(day, tool))["records"]


def test_a_sudden_drop_between_runs_is_held_back(cli, sandbox, tmp_path: Path) -> None:
    store = Store(cli.output)
    day1, day2 = RUN_DATE - timedelta(days=1), RUN_DATE
    _collect_and_process(cli, sandbox, day1, "cequence")
    records = _processed(store, day1, "cequence")
    write_json(store.processed_path(day2, "cequence"), {"records": records[: len(records) // 5]})
    store.record_step(day2, "cequence", "process", {"status": "ok"})
    (result,) = change_set(store.at(day2), ["cequence"], Analysis(drop_guard=0.5))
    assert result.removed == [] and result.held_back == len(records) - len(records) // 5
    assert "suspect" in result.note


def test_diff_command_between_two_dates(cli, sandbox) -> None:
    day1, day2 = RUN_DATE - timedelta(days=7), RUN_DATE  # a week: APIs appeared and retired meanwhile
    for day in (day1, day2):
        _collect_and_process(cli, sandbox, day, "apigee", "42crunch")
    store = Store(cli.output)
    before, after = ({r["endpoint_key"] for r in _processed(store, d, "apigee")} for d in (day1, day2))
    assert after - before and before - after, "the sandbox's apigee estate changes over a week"
    as_json = cli("diff", "--from", str(day1), "--to", str(day2), "--json", "apigee")
    document = json.loads(as_json.output)
    assert set(document["tools"]) == {"apigee"} and document["from"] == str(day1)
    assert all(c["tool"] == "apigee" for c in document["changes"])
    listed = {
        kind: {c["endpoint_key"] for c in document["changes"] if c["change"] == kind}
        for kind in ("new", "removed")
    }
    assert listed == {"new": after - before, "removed": before - after}
    counts = document["tools"]["apigee"]
    assert (counts["new"], counts["removed"]) == (len(after - before), len(before - after))
    result = cli("diff", "--from", str(day1), "--to", str(day2))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("42crunch: ")
    assert (
        f"apigee: {counts['new']} new, {counts['removed']} removed, {counts['changed']} changed"
        in result.output
    )
    lines = result.output.splitlines()
    for kind, keys in (("new", after - before), ("removed", before - after)):
        assert all(any(line.startswith(kind) and line.endswith(key) for line in lines) for key in keys)
    missing = cli("diff", "--from", "2020-01-01", "--to", str(day2))
    assert missing.exit_code == 2 and "no processed files for 2020-01-01" in missing.output


def test_a_collection_with_failed_items_reports_new_endpoints_but_holds_its_removals_back() -> None:
    old = [record("/a"), record("/b"), record("/c")]
    new = [record("/a"), record("/d")]
    changes = diff_records("kong", old, new, items_failed=2)
    assert [r["endpoint_key"] for r in changes.new] == ["GET h/d"]
    assert changes.removed == [] and changes.held_back == 2
    assert changes.note == "partial: 2 item(s) could not be fetched; 2 removals held back"
    assert [r["endpoint_key"] for r in diff_records("kong", old, new).removed] == ["GET h/b", "GET h/c"]
