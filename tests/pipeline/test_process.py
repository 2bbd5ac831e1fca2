from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from conftest import RUN_DATE

from apiinv.inventory.records import problems
from apiinv.store import Store, StoreError, read_json, read_records, write_json

DATE = str(RUN_DATE)


def test_process_writes_valid_records_for_every_tool(cli, sandbox) -> None:
    assert cli("--date", DATE, "collect", "--all", config_dir=sandbox.config_dir).exit_code == 0
    result = cli("--date", DATE, "process", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    store = Store(cli.output)
    for tool in sandbox.tools:
        document = read_json(store.processed_path(DATE, tool))
        assert document["records"] and all(problems(r) == [] for r in document["records"])
        step = store.step(DATE, tool, "process")
        assert step["status"] == "ok" and step["records"] == len(document["records"])
        # one JSON document, one record per line: read back one at a time, the same records
        assert list(read_records(store.processed_path(DATE, tool))) == document["records"]
    truth = sandbox.truth()
    assert len(read_json(store.processed_path(DATE, "cequence"))["records"]) == truth["cequence"]["endpoints"]
    # a record per operation and server its spec lists (an Apigee API's test host too)
    in_spec = sandbox.estate.on(sandbox.day).in_spec()
    assert len(read_json(store.processed_path(DATE, "42crunch"))["records"]) == sum(
        len(ops) * len(api.servers) for api, ops in in_spec
    )


def test_backfill_processes_an_old_date_without_any_network(cli, tmp_path: Path) -> None:
    from apiinv.sandbox.launch import Sandbox

    with Sandbox(size=20, seed=2, day=RUN_DATE) as sandbox:
        config_dir = sandbox.write_config(tmp_path / "sb")
        sandbox.config_dir = config_dir
        cli("--date", "2026-10-01", "collect", "kong", "cequence", config_dir=config_dir)
    # the simulators are gone now
    result = cli("--date", "2026-10-01", "process", "kong", "cequence", config_dir=config_dir)
    assert result.exit_code == 0, result.output
    assert Store(cli.output).processed_path("2026-10-01", "kong").exists()


@pytest.mark.sandbox_tools("kong")
def test_a_tool_without_a_raw_file_fails_clearly(cli, sandbox) -> None:
    result = cli("--date", DATE, "process", "kong", config_dir=sandbox.config_dir)
    assert result.exit_code == 4
    assert (
        "kong: FAILED: no raw file for 2026-11-23" in result.output and "run collect first" in result.output
    )


def test_exit_6_when_too_many_records_are_invalid(cli, sandbox) -> None:
    cli("--date", DATE, "collect", "cequence", config_dir=sandbox.config_dir)
    store = Store(cli.output)
    raw = read_json(store.raw_path(DATE, "cequence"))
    endpoints = raw["data"]["endpoints"]
    for index in range(0, len(endpoints), 2):  # no id, method, host or path: no identity left
        endpoints[index] = {"riskScore": 5}
    write_json(store.raw_path(DATE, "cequence"), raw)
    result = cli("--date", DATE, "process", "cequence", config_dir=sandbox.config_dir)
    assert result.exit_code == 6, result.output
    assert "records invalid" in result.output and "max_reject_share 5%" in result.output
    rejects = read_json(store.processed_path(DATE, "cequence.rejects"))
    first = rejects["rejects"][0]
    assert first["endpoint_key"] == "* /" and "api_id" in first["reasons"][0]
    assert store.step(DATE, "cequence", "process")["status"] == "invalid"


def test_a_few_invalid_records_are_rejected_not_fatal(cli, sandbox) -> None:
    cli("--date", DATE, "collect", "cequence", config_dir=sandbox.config_dir)
    store = Store(cli.output)
    raw = read_json(store.raw_path(DATE, "cequence"))
    raw["data"]["endpoints"][0] = {}
    odd = raw["data"]["endpoints"][1]
    odd.update(method="NOT A METHOD", path="/v1/a b|c/'x'/\"y\"", riskScore=150)
    write_json(store.raw_path(DATE, "cequence"), raw)
    result = cli("--date", DATE, "process", "cequence", config_dir=sandbox.config_dir)
    assert result.exit_code == 0 and "1 rejected" in result.output
    assert store.step(DATE, "cequence", "process")["rejected"] == 1
    kept = next(
        r for r in read_json(store.processed_path(DATE, "cequence"))["records"] if r["api_id"] == odd["id"]
    )
    assert (kept["method"], kept["path"], kept["risk_score"]) == ("NOT_A_METHOD", odd["path"], None)


def test_a_raw_file_of_the_wrong_shape_is_a_validation_error(cli, sandbox) -> None:
    store = Store(cli.output)
    write_json(store.raw_path(DATE, "kong"), {"tool": "kong", "type": "kong", "data": {"workspaces": [1, 2]}})
    result = cli("--date", DATE, "process", "kong", config_dir=sandbox.config_dir)
    assert result.exit_code == 6 and "does not have the shape of a kong inventory" in result.output


def test_owners_workbook_fills_the_owner(cli, sandbox) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Host", "Path prefix", "Owner", "Team"])
    sheet.append(["api.acme.example", "/", "Alice", "Payments"])
    sheet.append(["edge.acme.example", "", "Bob", ""])
    book.save(sandbox.config_dir / "owners.xlsx")
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(tools_yaml.read_text() + "owners:\n  file: owners.xlsx\n")
    cli("--date", DATE, "collect", "kong", "apigee", config_dir=sandbox.config_dir)
    assert cli("--date", DATE, "process", "kong", "apigee", config_dir=sandbox.config_dir).exit_code == 0
    store = Store(cli.output)
    kong = orjson.loads(store.processed_path(DATE, "kong").read_bytes())["records"]
    apigee = orjson.loads(store.processed_path(DATE, "apigee").read_bytes())["records"]
    # A rule's host is that host only: the catch-all routes' own hostnames are no one's here.
    assert {r["owner"] for r in kong if r["host"] == "edge.acme.example"} == {"Bob"}
    assert {r["owner"] for r in kong if r["host"] != "edge.acme.example"} == {None}
    assert {r["owner"] for r in apigee if r["host"] == "api.acme.example"} == {"Alice (Payments)"}


def test_processed_records_are_read_one_at_a_time_and_a_cut_file_is_an_error(tmp_path: Path) -> None:
    records = [{"endpoint_key": f"GET h/{i}", "note": "a,\nb"} for i in range(3)]
    lines = b",\n".join(orjson.dumps(r) for r in records)
    whole = b'{"schema_version":1,"tool":"t","records":[\n' + lines + b"\n]}"
    path = tmp_path / "t.json"
    path.write_bytes(whole)
    assert orjson.loads(whole)["records"] == records == list(read_records(path))
    # read lazily: the first record arrives although a later line is broken
    path.write_bytes(whole.replace(b'"GET h/2"', b'"GET h/2'))
    reading = read_records(path)
    assert next(reading) == records[0]
    with pytest.raises(StoreError, match="not valid JSON"):
        list(reading)
    # cut after a whole record: never taken for fewer records
    path.write_bytes(whole[: whole.index(b"\n", whole.index(b"h/1")) + 1])
    with pytest.raises(StoreError, match=r"t\.json: not valid JSON \(it ends before its last record\)"):
        list(read_records(path))
    # a line break or CRLF at the end is still the file as written; a lost comma is not
    path.write_bytes(whole + b"\r\n")
    assert list(read_records(path)) == records
    path.write_bytes(whole.replace(b"},\n", b"}\n", 1))
    with pytest.raises(StoreError, match="a record line without its comma"):
        list(read_records(path))
    path.write_bytes(whole.replace(b"\n]}", b",\n]}"))
    with pytest.raises(StoreError, match="a comma and no record after it"):
        list(read_records(path))
    # in one piece (written before records went one per line): parsed whole
    path.write_bytes(orjson.dumps({"schema_version": 1, "records": records}))
    assert list(read_records(path)) == records
    path.write_bytes(b'{"schema_version":1,"tool":"t","records":[\n\n]}')
    assert list(read_records(path)) == []


@pytest.mark.sandbox_tools("kong", "cequence", "rest")
def test_tools_are_processed_one_at_a_time_unless_more_workers_are_asked_for(
    cli, sandbox, monkeypatch
) -> None:
    """Each tool being processed holds its whole raw document: side by side they add up in memory."""
    import threading

    import apiinv.pipeline.process as processing

    assert cli("--date", DATE, "collect", "--all", config_dir=sandbox.config_dir).exit_code == 0
    lock, running, seen = threading.Lock(), set(), []
    second_started = threading.Event()
    real = processing.process_tool

    def watched(tool, *args, **kwargs):
        with lock:
            running.add(tool.name)
            seen.append(len(running))
            if len(running) > 1:
                second_started.set()
        try:
            if wait_for_another:  # a pool of several starts another tool before this one is done
                second_started.wait(30)
            return real(tool, *args, **kwargs)
        finally:
            with lock:
                running.discard(tool.name)

    monkeypatch.setattr(processing, "process_tool", watched)
    wait_for_another = False
    for argv in (["process", "--all"], ["run", "--all", "--workers", "4", "--format", "json"]):
        seen.clear()
        assert cli("--date", DATE, *argv, config_dir=sandbox.config_dir).exit_code == 0
        assert seen == [1, 1, 1], argv

    wait_for_another, seen[:] = True, []
    assert (
        cli("--date", DATE, "process", "--all", "--workers", "2", config_dir=sandbox.config_dir).exit_code
        == 0
    )
    assert max(seen) == 2
