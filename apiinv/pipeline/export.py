"""`apiinv export`: the dated reports of a date, per tool and combined, in the formats asked for."""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from apiinv import memory
from apiinv.analysis.dataset import Dataset
from apiinv.analysis.findings import FINDINGS, TITLES
from apiinv.config import Analysis, Config
from apiinv.errors import NothingToReportError, OutputWriteError, UsageError
from apiinv.inventory.records import Row
from apiinv.logs import get_logger
from apiinv.ops import locks
from apiinv.pipeline.assemble import build
from apiinv.report import documents, workbooks
from apiinv.report.xlsx import EXCEL_MAX_ROWS, Column
from apiinv.store import StoreDate, atomic_path, now_iso

log = get_logger("export")
FORMATS = ("xlsx", "json", "csv")


@dataclass
class ExportOutcome:
    files: list[Path] = field(default_factory=list)
    data: Dataset | None = None
    duration: float = 0.0

    @property
    def workbook(self) -> Path | None:
        return next(
            (f for f in self.files if f.name.startswith("api-inventory-") and f.suffix == ".xlsx"), None
        )


def parse_formats(text: str) -> list[str]:
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"--format {text!r}: choose from {', '.join(FORMATS)}, comma-separated")
    return formats


def export(
    day: StoreDate,
    tools: list[str],
    analysis: Analysis,
    *,
    formats: list[str],
    max_rows: int = EXCEL_MAX_ROWS,
    roles: dict[str, str] | None = None,
    timezone: str | None = None,
    combined: list[str] | None = None,
    workers: int | None = None,
) -> ExportOutcome:
    """The reports of ``tools`` (each its own) and the combined report, which stands on every tool of
    ``combined`` (every enabled tool, whichever schedule exports: each with the date's data, else with
    its carried-forward data; default: ``tools``). ``roles`` maps tool names to their roles (gateway,
    spec, traffic); ``timezone`` is the planner's, whose end of the run date every age is measured to.
    Exports of one date take turns, so the later one reads what the earlier one wrote (and what other
    processes recorded of the date: the manifest is read again once its turn comes). The workbooks are
    written side by side by up to ``workers`` processes (default: one per usable core)."""
    everyone = [*(combined or tools), *(t for t in tools if t not in (combined or tools))]
    folder = day.folder
    if not folder.is_dir():  # leave no lock-only folder behind for a date nothing ran on
        raise NothingToReportError(f"nothing was collected for {day}: reports not written")
    with locks.use_date(folder), locks.exporting(folder):
        started = time.monotonic()
        day.reload()
        data = build(day, everyone, analysis, roles=roles, timezone=timezone)
        fresh = any(d.fresh(data.day) for d in data.data.values())
        if not data.records or (not fresh and day.manifest.get("report")):
            # Writing empty (or wholly carried-forward) reports would replace a good earlier export of
            # the date.
            raise NothingToReportError(
                f"no tool has processed records for {day}: reports not written "
                "(earlier reports of the date, if any, are kept)"
            )
        outcome = ExportOutcome(data=data)
        outcome.files = _write(folder, day, tools, data, formats, max_rows, workers)
        outcome.duration = time.monotonic() - started
        for tool in tools:
            day.record_step(
                tool,
                "export",
                {
                    "status": "ok",
                    "finished_at": now_iso(),
                    "duration_s": round(outcome.duration, 3),
                    "records": len(data.records.get(tool, [])),
                },
            )
        day.record_report(
            {
                "generated_at": data.generated_at,
                "tools": everyone,
                "formats": formats,
                "summary": data.summary(),
                "digest": data.digest(),
                "files": [f.name for f in outcome.files],
                "workbook": outcome.workbook.name if outcome.workbook else None,
            },
        )
    log.info("reports for %s: %s", day, ", ".join(f.name for f in outcome.files), extra={"file_only": True})
    return outcome


def export_step(
    cfg: Config, day: StoreDate, tools: list[str], formats: list[str], *, workers: int | None = None
) -> ExportOutcome:
    """The reports of ``tools``, and the combined report over every enabled tool (those of other
    schedules too, with their latest data): one date has one combined report, whoever writes it.
    ``workers``: at most that many workbook writers (default: one per usable core)."""
    enabled = [t.name for t in cfg.tools.values() if t.enabled]
    return export(
        day,
        tools,
        cfg.analysis,
        formats=formats,
        roles={t.name: t.role for t in cfg.tools.values()},
        timezone=cfg.timezone,
        combined=enabled,
        workers=workers,
    )


def _write(
    folder: Path,
    day: StoreDate,
    tools: list[str],
    data: Dataset,
    formats: list[str],
    max_rows: int,
    workers: int | None,
) -> list[Path]:
    """Each of ``tools``' reports and the combined one, in each of ``formats``."""
    combined = folder / f"api-inventory-{day}"
    jobs: list[tuple[Path, str | None]] = []
    for suffix in (".xlsx", ".json"):
        if suffix[1:] in formats:
            jobs += [
                *((folder / f"{t}-{day}{suffix}", t) for t in tools),
                (combined.with_suffix(suffix), None),
            ]
    write_reports(jobs, data, max_rows, workers)
    files = [path for path, _ in jobs]
    if "csv" in formats:
        csv_dir = folder / "csv"
        sheets: list[tuple[str, list[Column], Iterable[Row]]] = [
            ("inventory", workbooks.INVENTORY_COLUMNS, data.merged),
            ("changes", workbooks.CHANGE_COLUMNS, data.change_rows()),
            *[(name, workbooks.FINDING_COLUMNS, data.findings[name]) for name in FINDINGS],
            *[(tool, workbooks.RECORD_COLUMNS, data.records.get(tool, [])) for tool in tools],
        ]
        for name, columns, rows in sheets:
            files.append(documents.write_csv(csv_dir / f"{name}-{day}.csv", columns, rows))
    return files


# The dataset the report writers read. Forked workers inherit it: pickled to each, a large estate's
# dataset would cost more time and memory than the writing it spreads.
_dataset: Dataset | None = None


def _write_report(path: Path, tool: str | None, max_rows: int) -> None:
    """One report, written atomically: ``tool``'s, or the combined one (None), as its suffix says."""
    assert _dataset is not None
    if path.suffix == ".json":
        if tool is None:
            documents.write_combined_json(path, _dataset)
        else:
            documents.write_tool_json(path, _dataset, tool)
        return
    with atomic_path(path) as tmp:
        if tool is None:
            workbooks.write_combined(tmp, _dataset, max_rows=max_rows)
        else:
            workbooks.write_tool(tmp, _dataset, tool, max_rows=max_rows)


def write_reports(
    jobs: list[tuple[Path, str | None]], data: Dataset, max_rows: int, workers: int | None
) -> None:
    """The workbooks and JSON reports of ``jobs`` (path, tool or None for the combined one), in
    parallel processes: xlsx writing is CPU-bound Python (xlsxwriter formats every cell), so threads
    would take turns. This process writes the largest (the combined workbook, else the first combined
    report) while forked workers write the others, the JSON reports in the time the workbooks leave
    them; serial where processes cannot fork or one is asked for; never more processes than usable
    cores, nor than the memory available holds (``writers_that_fit``). A failure is that of the
    first failed job in ``jobs``' order, as when written one after another; a forked writer that
    dies (killed, out of memory) fails the export naming every report left unwritten."""
    global _dataset
    if not jobs:
        return
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    count = min(len(jobs), usable, workers or usable)
    forking = "fork" in multiprocessing.get_all_start_methods()
    if count > 1 and forking:
        count = _writers_for_memory(count)
    _dataset = data
    try:
        if count < 2 or not forking:
            for path, tool in jobs:
                _write_report(path, tool, max_rows)
            return
        # This process would otherwise only wait: it writes the largest report itself, and one forked
        # writer fewer holds its own copy of the pages it touches.
        largest = next((job for job in jobs if job[1] is None), jobs[-1])
        with ProcessPoolExecutor(count - 1, mp_context=multiprocessing.get_context("fork")) as pool:
            # Frozen while the writers fork (at the first submit): their cycle collector never walks
            # the heap they inherit, which would copy every page of it into each one.
            gc.freeze()
            try:
                futures = _hand_out(pool, jobs, largest, max_rows)
            finally:
                gc.unfreeze()
            try:
                failure: BaseException | None = None
                try:
                    _write_report(*largest, max_rows)
                except Exception as exc:  # reported in jobs' order, after the forked writers' failures
                    failure = exc
                _raise_first_failure(jobs, futures, largest, failure)
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
    finally:
        _dataset = None


# Of the memory the system has available, what forked writers may come to take.
MEMORY_HEADROOM = 0.8


def writers_that_fit(count: int, resident: int | None, available: int | None) -> int:
    """How many of ``count`` processes may write the reports, given the export's ``resident`` memory
    and the system's ``available`` memory (bytes; None when unknown: all of them). Each forked writer
    comes to hold its own copy of every page of the export's heap that either process touches:
    CPython writes a reference count into every object it reads, and both read the whole dataset.
    A large estate on a small machine would otherwise be ended by the kernel's out-of-memory killer
    in the middle of its export."""
    if not resident or available is None:
        return count
    return max(1, min(count, 1 + int(available * MEMORY_HEADROOM // resident)))


def _writers_for_memory(count: int) -> int:
    """``writers_that_fit`` this process and this system now; logged when fewer than ``count``."""
    resident, available = memory.resident(), memory.available()
    fitting = writers_that_fit(count, resident, available)
    if fitting < count:
        log.info(
            "%s MB of memory available and the export holds %s MB: its reports are written by %d "
            "process(es) rather than %d",
            f"{(available or 0) // 2**20:,}",
            f"{(resident or 0) // 2**20:,}",
            fitting,
            count,
        )
    return fitting


def _hand_out(
    pool: ProcessPoolExecutor,
    jobs: list[tuple[Path, str | None]],
    kept: tuple[Path, str | None],
    max_rows: int,
) -> dict[tuple[Path, str | None], Future[None]]:
    """Every job but ``kept`` (which this process writes) submitted to the writers. A writer killed
    while they are handed out fails the export naming every report not known to be written."""
    futures: dict[tuple[Path, str | None], Future[None]] = {}
    try:
        for job in jobs:
            if job != kept:
                futures[job] = pool.submit(_write_report, *job, max_rows)
    except BrokenProcessPool:
        written = {job for job, future in futures.items() if future.done() and future.exception() is None}
        raise _writer_died([path for path, tool in jobs if (path, tool) not in written]) from None
    return futures


def _writer_died(unwritten: list[Path]) -> OutputWriteError:
    return OutputWriteError(
        "a report writer process died (killed or out of memory); not written: "
        + ", ".join(str(path) for path in unwritten)
    )


def _raise_first_failure(
    jobs: list[tuple[Path, str | None]],
    futures: dict[tuple[Path, str | None], Future[None]],
    written_here: tuple[Path, str | None],
    failure: BaseException | None,
) -> None:
    """The first failure in ``jobs``' order: ``failure`` for the report written in this process, the
    forked writers' own for theirs; a writer that died fails the export naming every report left
    unwritten (which one died is not known)."""
    for job in jobs:
        if job == written_here:
            if failure is not None:
                raise failure
            continue
        try:
            futures[job].result()
        except BrokenProcessPool:
            lost = [path for (path, _), future in futures.items() if future.exception() is not None]
            raise _writer_died(lost + ([written_here[0]] if failure is not None else [])) from None


def describe(outcome: ExportOutcome) -> list[str]:
    """Lines for people: the summary table, and where the files are."""
    data = outcome.data
    assert data is not None
    summary = data.summary()
    width = max([10, *(len(tool) for tool in data.tools)])
    lines = [
        f"{'tool':{width}} {'status':9} {'data of':10} {'records':>8} "
        f"{'new':>5} {'removed':>8} {'changed':>8}"
    ]
    for tool in data.tools:
        changes = data.changes_for(tool)
        counts = changes.counts() if changes else {}
        used = data.data[tool]
        lines.append(
            f"{tool:{width}} {used.status:9} {used.data_date or 'no data':10} {len(used.records):>8,} "
            f"{counts.get('new', 0):>5,} {counts.get('removed', 0):>8,} {counts.get('changed', 0):>8,}"
        )
    changes = summary["changes"]
    lines.append(
        f"endpoints: {summary['endpoints']:,}; changes: {changes['new']:,} new, "
        f"{changes['removed']:,} removed, {changes['changed']:,} changed (distinct endpoints); findings: "
        + ", ".join(f"{TITLES[n].lower()} {summary['findings'][n]:,}" for n in FINDINGS)
    )
    if summary["banner"]:
        lines.append(summary["banner"])
    lines += [f"wrote {path}" for path in outcome.files]
    return lines
