"""The dated reports end to end: sandbox -> collect -> process -> export, read back."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from conftest import RUN_DATE, build_reports, copy_reports
from openpyxl import load_workbook

from apiinv.store import Store

DAY1, DAY2 = RUN_DATE - timedelta(days=1), RUN_DATE


@pytest.fixture(scope="module")
def two_days_built(tmp_path_factory):
    return build_reports(tmp_path_factory.mktemp("two-days"), [DAY1, DAY2], "--format", "xlsx,json,csv")


@pytest.fixture
def two_days(two_days_built, tmp_path):
    return Store(copy_reports(two_days_built, tmp_path).output)


def test_the_combined_workbook_has_every_sheet_and_every_record(two_days, two_days_built) -> None:
    store = two_days
    path = store.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx"
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "Summary",
        "Read me",
        "Inventory",
        *sorted(two_days_built.tools),
        "Changes",
        "Shadow APIs",
        "Unaudited",
        "Unauthenticated sensitive",
        "Orphan",
        "Zombie",
        "Run",
    ]
    report = json.loads((store.date_dir(DAY2) / f"api-inventory-{DAY2}.json").read_text())
    assert book["Inventory"].max_row - 1 == len(report["records"]) == report["summary"]["endpoints"]
    for tool in two_days_built.tools:
        processed = json.loads(store.processed_path(DAY2, tool).read_text())["records"]
        assert book[tool].max_row - 1 == len(processed)
    changes = report["summary"]["changes"]
    assert book["Changes"].max_row - 1 == changes["new"] + changes["removed"] + changes["changed"] > 0
    assert book["Shadow APIs"].max_row - 1 == report["summary"]["findings"]["shadow"] > 0
    summary_cells = [c for row in book["Summary"].iter_rows(values_only=True) for c in row if c is not None]
    assert "Endpoints per tool by risk level" in summary_cells
    run = list(book["Run"].iter_rows(values_only=True))
    assert run[0][:3] == ("Tool", "Step", "Status") and {r[1] for r in run[1:]} >= {"collect", "process"}


def test_workbooks_have_frozen_headers_filters_properties_and_a_chart(two_days) -> None:
    path = two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx"
    book = load_workbook(path)
    for name in book.sheetnames[1:]:
        assert book[name].freeze_panes == "A2", name
        assert book[name].auto_filter.ref, name
    assert book.properties.title == f"API inventory {DAY2}" and "confidential" in book.properties.keywords
    assert book["Summary"]._charts
    assert (two_days.date_dir(DAY2) / f"kong-{DAY2}.xlsx").exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_no_vendor_string_became_a_formula(two_days) -> None:
    book = load_workbook(two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx")
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert any(t.startswith("=HYPERLINK(") for t in texts)  # the estate's hostile title is there, as text


def test_the_json_report_matches_its_schema(two_days, two_days_built) -> None:
    from jsonschema import Draft202012Validator

    from apiinv.config import schema

    report = json.loads((two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.json").read_text())
    Draft202012Validator(schema("report")).validate(report)
    assert report["date"] == str(DAY2) and report["tools"] == sorted(two_days_built.tools)
    tool = json.loads((two_days.date_dir(DAY2) / f"kong-{DAY2}.json").read_text())
    assert tool["kind"] == "tool-inventory" and tool["records"]


def test_csv_files_per_sheet_neutralise_formulas(two_days) -> None:
    folder = two_days.date_dir(DAY2) / "csv"
    with open(folder / f"inventory-{DAY2}.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "Endpoint" and len(rows) > 100
    assert not any(cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row)
    assert (folder / f"shadow-{DAY2}.csv").exists() and (folder / f"kong-{DAY2}.csv").exists()


@pytest.mark.sandbox_tools("kong")
def test_export_refuses_to_replace_good_reports_with_empty_ones(cli, sandbox) -> None:
    result = cli("--date", str(DAY2), "collect", "kong", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    result = cli("--date", str(DAY2), "export", config_dir=sandbox.config_dir)
    assert result.exit_code == 4 and "no tool has processed records" in result.output


@pytest.mark.sandbox_tools("kong")
def test_export_of_a_date_nothing_ran_on_writes_nothing(cli, sandbox) -> None:
    result = cli("--date", "2020-01-01", "export", config_dir=sandbox.config_dir)
    assert result.exit_code == 4 and "nothing was collected for 2020-01-01" in result.output
    assert not (cli.output / "2020-01-01").exists()


@pytest.mark.sandbox_tools("kong")
def test_unknown_format_is_a_usage_error(cli, sandbox) -> None:
    result = cli("--date", str(DAY2), "export", "--format", "xlsx,pdf", config_dir=sandbox.config_dir)
    assert result.exit_code == 2 and "choose from xlsx, json, csv" in result.output


def test_probe_paths_with_any_characters_reach_every_report(two_days) -> None:
    from apiinv.sandbox.cequence import PROBE_PATHS

    folder = two_days.date_dir(DAY2)
    book = load_workbook(folder / f"api-inventory-{DAY2}.xlsx", read_only=True)
    header, *rows = list(book["Shadow APIs"].iter_rows(values_only=True))
    shadow_paths = {row[header.index("Path")] for row in rows}
    with open(folder / "csv" / f"inventory-{DAY2}.csv", newline="", encoding="utf-8") as handle:
        csv_paths = {row["Path"] for row in csv.DictReader(handle)}
    document = json.loads((folder / f"api-inventory-{DAY2}.json").read_text())
    json_paths = {r["path"] for r in document["records"]}
    for probe in PROBE_PATHS:
        assert probe in shadow_paths and probe in csv_paths and probe in json_paths, probe


def test_finding_sheets_list_the_riskiest_first(two_days) -> None:
    order = ["critical", "high", "medium", "low", "info", None]
    book = load_workbook(two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx", read_only=True)
    for title in ("Shadow APIs", "Unaudited", "Unauthenticated sensitive"):
        header, *rows = list(book[title].iter_rows(values_only=True))
        level, score = header.index("Risk level"), header.index("Risk score")
        ranks = [(order.index(row[level]), -(row[score] or 0)) for row in rows]
        assert ranks == sorted(ranks) and len(rows) > 1, title


@pytest.fixture(scope="module")
def one_day_built(tmp_path_factory):
    return build_reports(tmp_path_factory.mktemp("one-day"), [DAY2], "--format", "json")


@pytest.fixture
def one_day(one_day_built, tmp_path):
    return copy_reports(one_day_built, tmp_path)


def test_an_export_waits_for_the_dates_export_in_progress_then_writes(one_day) -> None:
    import threading
    import time

    from apiinv import config
    from apiinv.ops import locks
    from apiinv.pipeline.export import export_step

    store = Store(one_day.output)
    folder = store.date_dir(DAY2)
    report = folder / f"api-inventory-{DAY2}.json"
    cfg = config.load(one_day.config_dir)
    outcome = []
    second = threading.Thread(
        target=lambda: outcome.append(export_step(cfg, store.at(DAY2), ["kong"], ["json"])), daemon=True
    )
    with locks.exporting(folder):  # an export of the date in progress
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive() and not outcome  # waiting its turn, not failing
        released = time.time()
    second.join(timeout=30)
    assert outcome and outcome[0].files[-1] == report
    assert report.stat().st_mtime >= released


def test_an_export_kept_waiting_past_its_bound_fails_and_writes_nothing(one_day, cli, monkeypatch) -> None:
    from apiinv.ops import locks

    folder = Store(one_day.output).date_dir(DAY2)
    report = folder / f"api-inventory-{DAY2}.json"
    before = report.read_bytes()
    monkeypatch.setattr(locks, "EXPORT_WAIT_S", 0.2)
    with locks.exporting(folder):
        result = cli("--date", str(DAY2), "export", "--format", "json", config_dir=one_day.config_dir)
    assert result.exit_code == 75, result.output
    assert f"another export of {DAY2} still holds {folder / '.export.lock'} after 0.2 s" in result.output
    assert report.read_bytes() == before


def test_the_summary_opens_with_act_first_linked_to_the_finding_sheets(two_days) -> None:
    from jsonschema import Draft202012Validator

    from apiinv.config import schema

    report = json.loads((two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.json").read_text())
    Draft202012Validator(schema("report")).validate(report)
    ranked = report["act_first"]["endpoints"]
    assert ranked and [e["rank"] for e in ranked] == list(range(1, len(ranked) + 1))
    assert [e["score"] for e in ranked] == sorted((e["score"] for e in ranked), reverse=True)
    for name, split in report["act_first"]["by_risk"].items():
        assert sum(split.values()) == len(report["findings"][name])
    book = load_workbook(two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx")
    summary = book["Summary"]
    rows = [[c.value for c in row] for row in summary.iter_rows(max_row=30)]
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Act first"))
    header = rows[start + 2]
    assert header[:5] == ["Endpoint", "Score", "Risk", "Finding", "Owner"]
    assert [r[0] for r in rows[start + 3 : start + 3 + len(ranked)]] == [e["endpoint_key"] for e in ranked]
    assert start < next(i for i, r in enumerate(rows) if r[0] == "Tool")  # before the run's tables
    targets = {c.hyperlink.location for row in summary.iter_rows() for c in row if c.hyperlink}
    assert {f"'{book.sheetnames[i]}'!A1" for i in range(len(book.sheetnames))} >= targets
    assert {"'Read me'!A1", "'Unauthenticated sensitive'!A1", "'Orphan'!A1"} <= targets
    readme = [r[0] for r in book["Read me"].iter_rows(values_only=True)]
    assert "Act first score" in readme and "Orphan (finding)" in readme


def test_finding_sheets_print_the_columns_a_reader_needs_first(two_days) -> None:
    book = load_workbook(two_days.date_dir(DAY2) / f"api-inventory-{DAY2}.xlsx")
    sheet = book["Shadow APIs"]
    headers = [c.value for c in sheet[1]]
    assert headers[:7] == ["Risk level", "Endpoint", "Reason", "Tools", "Owner", "First seen", "Last seen"]
    assert "Audit score" in headers[9:]
    setup = sheet.page_setup
    assert setup.orientation == "landscape" and setup.paperSize == 9  # A4
    assert setup.fitToWidth in (None, 1) and setup.fitToHeight == 0  # one page wide (1 is the default)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_area == f"'Shadow APIs'!$A$1:$I${sheet.max_row}"
    # A row whose endpoint wraps is tall enough for it.
    tall = [r for r in range(2, sheet.max_row + 1) if len(sheet.cell(r, 2).value or "") > 40]
    assert tall and all((sheet.row_dimensions[r].height or 15) >= 30 for r in tall)


def two_usable_cores(monkeypatch) -> None:
    """The export writes in parallel only with cores to spare: as on a machine with two, whatever this
    one has (else a one-core runner would write serially and the tests below would fail)."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)


def note_writers(monkeypatch, folder, functions) -> Callable[[], set[str]]:
    """Each of ``functions`` ((module, name) pairs) notes the process that calls it, a forked writer
    included; the returned function says which processes did (their pids, as text)."""
    import os

    folder.mkdir()
    for module, name in functions:
        original = getattr(module, name)

        def noted(*args, _original=original, **kwargs):
            (folder / str(os.getpid())).touch()
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, noted)
    return lambda: {path.name for path in folder.iterdir()}


def test_workbooks_written_by_worker_processes_equal_a_serial_write(two_days, monkeypatch, tmp_path) -> None:
    """The export's workbooks come from worker processes, and each is, part for part, the workbook one
    process writes from the same data (but for the creation time xlsxwriter stamps)."""
    import gc
    import os
    import re
    import zipfile

    from apiinv import config
    from apiinv.pipeline.export import export
    from apiinv.report import workbooks

    two_usable_cores(monkeypatch)
    writers = note_writers(
        monkeypatch, tmp_path / "writers", [(workbooks, "write_tool"), (workbooks, "write_combined")]
    )
    cfg = config.load(two_days.root.parent / "sandbox")
    tools = [t.name for t in cfg.tools.values()]
    outcome = export(two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx"], combined=tools, workers=2)
    assert outcome.data is not None and len(outcome.files) == len(tools) + 1
    assert writers() - {str(os.getpid())}, "no workbook came from a worker"
    assert str(os.getpid()) in writers(), "the export itself only waited"
    assert gc.get_freeze_count() == 0, "the export's heap was left out of its cycle collector"

    def parts(path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as book:
            found = {name: book.read(name) for name in book.namelist()}
        created = rb"<dcterms:(created|modified)[^>]*>[^<]*<"
        found["docProps/core.xml"] = re.sub(created, b"", found["docProps/core.xml"])
        return found

    serial = tmp_path / "serial"
    serial.mkdir()
    for path in outcome.files:
        again = serial / path.name
        if path.name.startswith("api-inventory-"):
            workbooks.write_combined(again, outcome.data)
        else:
            workbooks.write_tool(again, outcome.data, path.name.removesuffix(f"-{DAY2}.xlsx"))
        assert parts(path) == parts(again), path.name


def test_json_reports_are_written_by_a_worker_while_the_export_writes_the_combined_workbook(
    two_days, monkeypatch, tmp_path
) -> None:
    import os

    from apiinv import config
    from apiinv.pipeline.export import export
    from apiinv.report import documents

    two_usable_cores(monkeypatch)
    functions = [(documents, "write_tool_json"), (documents, "write_combined_json")]
    writers = note_writers(monkeypatch, tmp_path / "writers", functions)
    cfg = config.load(two_days.root.parent / "sandbox")
    tools = [t.name for t in cfg.tools.values()]
    outcome = export(
        two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx", "json"], combined=tools, workers=2
    )
    assert outcome.data is not None
    assert [p.suffix for p in outcome.files] == [".xlsx"] * (len(tools) + 1) + [".json"] * (len(tools) + 1)
    pids = writers()
    assert pids and str(os.getpid()) not in pids, "the JSON reports were not written by the worker"
    again = tmp_path / "again.json"
    for path in outcome.files[len(tools) + 1 :]:
        tool = None if path.name.startswith("api-inventory-") else path.name.removesuffix(f"-{DAY2}.json")
        if tool is None:
            documents.write_combined_json(again, outcome.data)
        else:
            documents.write_tool_json(again, outcome.data, tool)
        assert again.read_bytes() == path.read_bytes(), path.name


def test_writers_are_as_many_as_the_available_memory_holds() -> None:
    from apiinv.pipeline.export import writers_that_fit

    gb = 2**30
    assert writers_that_fit(2, 1 * gb, 8 * gb) == 2
    assert writers_that_fit(2, 3 * gb, 2 * gb) == 1  # a second writer could copy all 3 GB
    assert writers_that_fit(4, 1 * gb, int(2.6 * gb)) == 3
    assert writers_that_fit(2, None, 1) == writers_that_fit(2, 1 * gb, None) == 2  # unknown: as asked


def test_the_memory_available_is_the_least_room_of_the_system_and_its_cgroups(tmp_path, monkeypatch) -> None:
    from apiinv import memory

    mb = 2**20
    (tmp_path / "meminfo").write_text("MemTotal: 8000000 kB\nMemAvailable: 4096000 kB\n")
    (tmp_path / "cgroup").write_text("0::/system.slice/apiinv.service\n")
    unit = tmp_path / "fs" / "system.slice" / "apiinv.service"
    unit.mkdir(parents=True)
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(memory, "PROC_CGROUP", tmp_path / "cgroup")
    monkeypatch.setattr(memory, "CGROUP_FILES", tmp_path / "fs")
    assert memory.available() == 4000 * mb  # no limit anywhere: the system's
    (unit / "memory.max").write_text("max\n")
    assert memory.available() == 4000 * mb
    (unit / "memory.max").write_text(f"{1024 * mb}\n")  # a unit's MemoryMax, or a container's limit
    (unit / "memory.current").write_text(f"{600 * mb}\n")
    assert memory.available() == 424 * mb
    (unit.parent / "memory.max").write_text(f"{900 * mb}\n")  # a tighter limit above it
    (unit.parent / "memory.current").write_text(f"{800 * mb}\n")
    assert memory.available() == 100 * mb
    (tmp_path / "cgroup").write_text("1:memory:/legacy\n")  # cgroup v1 only: the system's figure
    assert memory.available() == 4000 * mb


def writer_dies(two_days, monkeypatch) -> tuple[list[str], str]:
    """The tools and the error message of a two-process export whose report writer dies."""
    from apiinv import config
    from apiinv.errors import OutputWriteError
    from apiinv.pipeline.export import export

    two_usable_cores(monkeypatch)
    cfg = config.load(two_days.root.parent / "sandbox")
    tools = [t.name for t in cfg.tools.values()]
    with pytest.raises(OutputWriteError, match="a report writer process died") as died:
        export(two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx"], combined=tools, workers=2)
    return tools, died.value.message


def test_a_writer_killed_while_reports_are_handed_out_fails_the_export_naming_them(
    two_days, monkeypatch
) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    submitting = ProcessPoolExecutor.submit
    handed: list[int] = []

    def breaks_at_the_second(self, *args, **kwargs):
        handed.append(1)
        if len(handed) == 2:
            raise BrokenProcessPool("a child process terminated abruptly")
        return submitting(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", breaks_at_the_second)
    tools, message = writer_dies(two_days, monkeypatch)
    for name in [*tools[1:], "api-inventory"]:  # the first may have been written; the rest were not
        assert f"{name}-{DAY2}.xlsx" in message


def test_with_too_little_memory_for_a_second_writer_the_export_writes_every_report_itself(
    two_days, monkeypatch, tmp_path, caplog
) -> None:
    import logging
    import os

    from apiinv import config, memory
    from apiinv.pipeline import export as exporting
    from apiinv.report import documents, workbooks

    two_usable_cores(monkeypatch)
    monkeypatch.setattr(memory, "available", lambda: 100 * 2**20)
    functions = [(workbooks, "write_tool"), (documents, "write_tool_json")]
    writers = note_writers(monkeypatch, tmp_path / "writers", functions)
    cfg = config.load(two_days.root.parent / "sandbox")
    tools = [t.name for t in cfg.tools.values()]
    with caplog.at_level(logging.INFO, logger="apiinv"):
        outcome = exporting.export(
            two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx", "json"], combined=tools, workers=2
        )
    assert all(path.exists() for path in outcome.files) and len(outcome.files) == 2 * (len(tools) + 1)
    assert writers() == {str(os.getpid())}
    assert (
        "100 MB of memory available" in caplog.text
        and "written by 1 process(es) rather than 2" in caplog.text
    )


def test_a_writer_process_that_dies_fails_the_export_naming_its_workbook(two_days, monkeypatch) -> None:
    import os

    from apiinv.report import workbooks

    parent = os.getpid()

    def killed(*args, **kwargs):
        if os.getpid() != parent:
            os._exit(9)  # as the kernel's out-of-memory killer would end it

    monkeypatch.setattr(workbooks, "write_tool", killed)
    tools, message = writer_dies(two_days, monkeypatch)
    assert f"{tools[-1]}-{DAY2}.xlsx" in message  # the last one: left unwritten, whoever died


def test_failures_of_the_export_and_its_writers_are_reported_in_the_order_of_the_workbooks(
    two_days, monkeypatch
) -> None:
    import os
    from pathlib import Path

    from apiinv import config
    from apiinv.errors import OutputWriteError
    from apiinv.pipeline.export import export
    from apiinv.report import workbooks

    two_usable_cores(monkeypatch)
    cfg = config.load(two_days.root.parent / "sandbox")
    tools = [t.name for t in cfg.tools.values()]
    folder = two_days.at(DAY2).folder
    writing_tool = workbooks.write_tool

    def combined_fails(*args, **kwargs):
        raise OutputWriteError("the combined workbook failed")

    def first_tool_fails(path, data, tool, **kwargs):
        if tool == tools[0]:
            raise OutputWriteError(f"{tool}'s workbook failed")
        return writing_tool(path, data, tool, **kwargs)

    # The combined workbook, written by the export itself, fails alone: its failure, the others written.
    monkeypatch.setattr(workbooks, "write_combined", combined_fails)
    for tool in tools:
        (folder / f"{tool}-{DAY2}.xlsx").unlink(missing_ok=True)
    with pytest.raises(OutputWriteError, match="the combined workbook failed"):
        export(two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx"], combined=tools, workers=2)
    assert all((folder / f"{tool}-{DAY2}.xlsx").exists() for tool in tools)
    # Both fail: the first in the workbooks' order (the tools' before the combined one), as when
    # written one after another; no writer is left behind.
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    before = children.read_text().split() if children.exists() else []
    monkeypatch.setattr(workbooks, "write_tool", first_tool_fails)
    with pytest.raises(OutputWriteError, match=f"{tools[0]}'s workbook failed"):
        export(two_days.at(DAY2), tools, cfg.analysis, formats=["xlsx"], combined=tools, workers=2)
    assert (children.read_text().split() if children.exists() else []) == before


@pytest.mark.sandbox_tools("kong")
def test_run_with_one_worker_writes_every_workbook_in_the_runs_own_process(
    cli, sandbox, monkeypatch, tmp_path
) -> None:
    import os

    from apiinv.report import workbooks

    functions = [(workbooks, "write_tool"), (workbooks, "write_combined")]
    writers = note_writers(monkeypatch, tmp_path / "writers", functions)
    result = cli("--date", str(DAY2), "run", "--all", "--workers", "1", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    assert writers() == {str(os.getpid())}
    assert (cli.output / str(DAY2) / f"api-inventory-{DAY2}.xlsx").exists()
