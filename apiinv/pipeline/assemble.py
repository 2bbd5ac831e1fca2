"""A date's report data read from the store: each tool's records (carried forward when the date's
failed), the changes against each tool's last complete run, the trend, then the pure analysis over them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apiinv.analysis.changes import DIFFED, ToolChanges, diff_records
from apiinv.analysis.dataset import Dataset, ToolData, finding_notes, trend_point
from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.analysis.serving import Indexes
from apiinv.config import Analysis
from apiinv.errors import UsageError
from apiinv.inventory.records import Row, compact
from apiinv.registry import role_of
from apiinv.store import StoreDate, read_records
from apiinv.timefmt import end_of_day, iso


def load_processed(day: StoreDate, tool: str, strings: dict[Any, Any] | None = None) -> list[Row] | None:
    """The tool's processed records of ``day`` as read-only rows (equal texts shared through ``strings``,
    one dict for everything a report reads), or None when there is no such file."""
    path = day.processed_path(tool)
    return compact(read_records(path), strings) if path.exists() else None


def load_diffed(day: StoreDate, tool: str) -> list[Row]:
    """Of the tool's processed records of ``day``, only what a diff reads (``DIFFED``): the earlier
    side of a change set is read for nothing else, and whole rows take three times as long to make
    (1.5 s against 0.5 s for the 157,000 records of 10,000 APIs). [] when there is no such file."""
    path = day.processed_path(tool)
    if not path.exists():
        return []
    return [{name: record.get(name) for name in DIFFED} for record in read_records(path)]


def change_set(
    day: StoreDate,
    tools: list[str],
    analysis: Analysis,
    *,
    compared: list[str] | None = None,
    loaded: dict[str, ToolData] | None = None,
) -> list[ToolChanges]:
    """Per tool, the changes of ``day`` against that tool's last complete run before it. Only tools in
    ``compared`` (those with complete data of the date) are compared: a failed, truncated or carried-forward
    tool never reports removals. ``loaded``: the date's data already read, not read again."""
    results = []
    for tool in tools:
        step = day.step(tool, "process")
        current: list[Any] | None = None
        if step and step.get("status") == "ok" and (compared is None or tool in compared):
            same = (loaded or {}).get(tool)
            current = same.records if same is not None and same.data_date == str(day) else None
            if current is None:
                current = load_processed(day, tool)
        if current is None:
            results.append(ToolChanges(tool, None, note="not compared: no complete run on this date"))
            continue
        previous_day = earlier_of_same_kind(tool, day, step or {})
        if previous_day is None:
            results.append(
                ToolChanges(tool, None, note="first complete run: the baseline, nothing new", baseline=True)
            )
            continue
        collected = day.step(tool, "collect") or {}
        changes = diff_records(
            tool,
            load_diffed(previous_day, tool),
            current,
            drop_guard=analysis.drop_guard,
            items_failed=len(collected.get("failed_items") or []),
        )
        changes.previous_date = str(previous_day)
        results.append(changes)
    return results


def earlier_of_same_kind(tool: str, day: StoreDate, entry: dict[str, Any]) -> StoreDate | None:
    """The tool's last complete run before ``day`` whose data is of the kind ``entry`` (the tool's step,
    or the manifest, of ``day``) records: the demo's simulated data and real data are never compared
    with each other, nor carried forward into each other's reports."""
    earlier = day.store.last_good(tool, "process", before=day.day, simulated=bool(entry.get("simulated")))
    return day.store.at(earlier) if earlier is not None else None


def diff_dates(before: StoreDate, after: StoreDate, tools: list[str] | None = None) -> list[ToolChanges]:
    """Changes between the processed files of two dates, per tool present on both."""

    def processed(day: StoreDate) -> set[str]:
        folder = day.folder / "processed"
        if not folder.is_dir():
            raise UsageError(f"no processed files for {day} in {day.store.root}")
        return {p.stem for p in folder.glob("*.json") if not p.stem.endswith(".rejects")}

    on_before, on_after = processed(before), processed(after)
    unknown = [t for t in tools or [] if t not in on_before | on_after]
    if unknown:
        raise UsageError(
            f"no processed files of {', '.join(map(repr, unknown))} on {before} or {after} "
            f"(there are: {', '.join(sorted(on_before | on_after)) or 'none'})"
        )
    results = []
    for tool in tools or sorted(on_before | on_after):
        if tool not in on_before or tool not in on_after:
            missing = before if tool not in on_before else after
            results.append(
                ToolChanges(tool, str(before), note=f"not compared: nothing processed on {missing}")
            )
            continue
        changes = diff_records(tool, load_diffed(before, tool), load_diffed(after, tool))
        changes.previous_date = str(before)
        results.append(changes)
    return results


def _status(collect: dict[str, Any], process: dict[str, Any]) -> str:
    if collect.get("status") in ("failed", "truncated", "partial"):
        return str(collect["status"])
    if process.get("status") == "invalid":
        return "partial"
    if process and process.get("status") != "ok":
        return "failed"
    return "ok"


def tool_data(
    day: StoreDate,
    tool: str,
    analysis: Analysis,
    role: str | None,
    strings: dict[Any, Any] | None = None,
) -> ToolData:
    """The tool's records for ``day``: its own when that date has complete processed data, else its
    last complete data within ``carry_forward_days`` (truncated listings are never written, so a date
    whose processing went well holds complete data). ``role`` is its configured role when known."""
    manifest = day.manifest
    manifest_tool = manifest.get("tools", {}).get(tool, {})
    collect, process = manifest_tool.get("collect") or {}, manifest_tool.get("process") or {}
    errors = [e for step in (collect, process) for e in step.get("errors") or []]
    # Configuration decides the role; else what the manifest recorded, else what its type declares.
    role = role or str(
        collect.get("role")
        or process.get("role")
        or role_of(str(collect.get("type") or process.get("type") or tool))
    )
    status = _status(collect, process) if manifest_tool else "not_run"
    if process.get("status") in ("ok", "invalid"):
        records = load_processed(day, tool, strings)
        if records is not None:
            return ToolData(tool, role, status, str(day), records, errors)
    oldest = day.day - timedelta(days=analysis.carry_forward_days)
    earlier = earlier_of_same_kind(tool, day, process or collect or manifest)
    if status == "ok":
        status = "failed"  # collected, but nothing usable of the date was processed
    if earlier is not None and earlier.day >= oldest:
        return ToolData(
            tool, role, status, str(earlier), load_processed(earlier, tool, strings) or [], errors
        )
    return ToolData(tool, role, status, None, [], errors)


def history(day: StoreDate, runs: int) -> list[dict[str, Any]]:
    """Trend points of the reported dates before ``day``, from their manifests (oldest first)."""
    points: list[dict[str, Any]] = []
    simulated = day.simulated
    for earlier in reversed([d for d in day.store.dates() if d < str(day)]):
        if len(points) >= runs - 1:
            break
        manifest = day.store.at(date.fromisoformat(earlier)).manifest
        summary = (manifest.get("report") or {}).get("summary")
        if summary and bool(manifest.get("simulated")) == simulated:
            points.append(trend_point(earlier, summary))
    return points[::-1]


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cycle collector held off while the report data is read and analysed: loading, merge and
    the findings make records, lookups and rows that all live on, so each full collection on the way
    walks the whole estate again for nothing, and there are more of them the larger the estate (merge
    25x the collector time at 4x the estate; reading the processed files of 10,000 APIs took twice as
    long with it). Any cycle left behind is collected before it is back on: all made meanwhile is still
    of the youngest generation, so the collections that the next allocations set off would otherwise
    walk it three times over while it ages (1.6 s of the first digest at 10,000 APIs, against 0.3 s for
    one full collection that puts it in the oldest generation at once)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was_enabled:  # failing: the estate is garbage now, and an interrupt must not leave it off
            gc.enable()
        raise
    if was_enabled:
        try:
            gc.collect()
        finally:
            gc.enable()


def build(
    day: StoreDate,
    tools: list[str],
    analysis: Analysis,
    *,
    roles: dict[str, str] | None = None,
    now: datetime | None = None,
    timezone: str | None = None,
) -> Dataset:
    """``roles`` maps tool names to their roles (gateway, spec, traffic); ``now`` is the end of the run
    date in the planner's time zone unless given."""
    with collection_paused():
        return _build(day, tools, analysis, roles=roles, now=now, timezone=timezone)


def _build(
    day: StoreDate,
    tools: list[str],
    analysis: Analysis,
    *,
    roles: dict[str, str] | None,
    now: datetime | None,
    timezone: str | None,
) -> Dataset:
    strings: dict[Any, Any] = {}
    data = {tool: tool_data(day, tool, analysis, (roles or {}).get(tool), strings) for tool in tools}
    del strings  # the records keep the texts they share
    everything = [r for d in data.values() for r in d.records]
    by_tool = {name: d.role for name, d in data.items()}
    moment = now or end_of_day(day.day, timezone)
    notes, skip = finding_notes(data, str(day))
    fresh = [t for t, d in data.items() if d.fresh(str(day)) and d.status != "truncated"]
    # Before the lookups and the merge: the earlier dates' records it reads (one tool at a time) are
    # gone when those are made, which then take the memory they freed rather than more (at 10,000 APIs
    # the export's peak was 39 MB higher with the changes read last).
    changes = change_set(day, tools, analysis, compared=fresh, loaded=data)
    indexes = Indexes.build(everything, by_tool)  # merge's and the findings' lookups alike
    merged = merge(everything, roles=by_tool, indexes=indexes)
    indexes.drop_gateway_routes()
    findings = find(merged, everything, analysis, now=moment, skip=skip, roles=by_tool, indexes=indexes)
    return Dataset(
        day=str(day),
        generated_at=iso(datetime.now(UTC)),
        now=moment,
        tools=tools,
        manifest=day.manifest,
        data=data,
        merged=merged,
        findings=findings,
        finding_notes=notes,
        changes=changes,
        analysis=analysis,
        history=history(day, analysis.trend_runs),
    )
