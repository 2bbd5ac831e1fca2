"""What changed: new, removed and changed endpoints of each tool since its last complete run.

A tool that has no successful processing for the date contributes nothing (so no false removals), and a
tool whose endpoint count fell by more than the drop guard is flagged suspect: its removals are held
back rather than reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from apiinv.config import Analysis
from apiinv.store import Store, read_json

COMPARED = (
    "status",
    "auth_required",
    "auth_types",
    "risk_level",
    "audit_score",
    "sensitive_data",
    "products",
)


@dataclass
class ToolChanges:
    tool: str
    previous_date: str | None
    new: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    held_back: int = 0
    note: str = ""
    baseline: bool = False  # the tool's first complete run: everything is known from here on

    def rows(self) -> list[dict[str, Any]]:
        return self.new + self.removed + self.changed

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "held_back": self.held_back,
        }


def _by_key(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed: dict[str, dict[str, Any]] = {}
    for record in records:
        keyed.setdefault(record["endpoint_key"], record)
    return keyed


def _row(change: str, tool: str, record: dict[str, Any], fields: str = "", before: str = "", after: str = ""):
    return {
        "change": change,
        "tool": tool,
        "endpoint_key": record["endpoint_key"],
        "api_name": record["api_name"],
        "url": record["url"],
        "fields": fields,
        "before": before,
        "after": after,
    }


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def diff_records(
    tool: str, old: list[dict[str, Any]], new: list[dict[str, Any]], *, drop_guard: float | None = None
) -> ToolChanges:
    """Pure: the changes from ``old`` to ``new`` records of one tool."""
    before, after = _by_key(old), _by_key(new)
    result = ToolChanges(tool, None)
    result.new = [_row("new", tool, after[k]) for k in sorted(after.keys() - before.keys())]
    removed = [_row("removed", tool, before[k]) for k in sorted(before.keys() - after.keys())]
    if drop_guard is not None and before and len(after) < (1 - drop_guard) * len(before):
        result.held_back = len(removed)
        result.note = (
            f"suspect: {len(after):,} endpoints after {len(before):,} (a drop of more than "
            f"{drop_guard:.0%}); {len(removed):,} removals held back"
        )
    else:
        result.removed = removed
    for key in sorted(before.keys() & after.keys()):
        differing = [f for f in COMPARED if before[key].get(f) != after[key].get(f)]
        if differing:
            result.changed.append(
                _row(
                    "changed",
                    tool,
                    after[key],
                    ", ".join(differing),
                    "; ".join(f"{f}={_text(before[key].get(f))}" for f in differing),
                    "; ".join(f"{f}={_text(after[key].get(f))}" for f in differing),
                )
            )
    return result


def load_processed(store: Store, day: date | str, tool: str) -> list[dict[str, Any]] | None:
    path = store.processed_path(day, tool)
    return read_json(path)["records"] if path.exists() else None


def change_set(
    store: Store, day: date | str, tools: list[str], analysis: Analysis, *, compared: list[str] | None = None
) -> list[ToolChanges]:
    """Per tool, the changes of ``day`` against that tool's last complete run before it. Only tools in
    ``compared`` (those with complete data of the date) are compared: a failed, truncated or carried-forward
    tool never reports removals."""
    results = []
    for tool in tools:
        step = store.step(day, tool, "process")
        current = (
            load_processed(store, day, tool)
            if step and step.get("status") == "ok" and (compared is None or tool in compared)
            else None
        )
        if current is None:
            results.append(ToolChanges(tool, None, note="not compared: no complete run on this date"))
            continue
        previous_day = store.last_good(tool, "process", before=day)
        if previous_day is None:
            results.append(
                ToolChanges(tool, None, note="first complete run: the baseline, nothing new", baseline=True)
            )
            continue
        changes = diff_records(
            tool, load_processed(store, previous_day, tool) or [], current, drop_guard=analysis.drop_guard
        )
        changes.previous_date = previous_day
        results.append(changes)
    return results


def diff_dates(store: Store, before: date, after: date, tools: list[str] | None = None) -> list[ToolChanges]:
    """Changes between the processed files of two dates, per tool present on both."""
    from apiinv.errors import UsageError

    def processed(day: date) -> set[str]:
        folder = store.date_dir(day) / "processed"
        if not folder.is_dir():
            raise UsageError(f"no processed files for {day} in {store.root}")
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
        changes = diff_records(
            tool, load_processed(store, before, tool) or [], load_processed(store, after, tool) or []
        )
        changes.previous_date = str(before)
        results.append(changes)
    return results


def render_text(results: list[ToolChanges]) -> str:
    lines = []
    for result in results:
        counts = result.counts()
        lines.append(
            f"{result.tool}: {counts['new']} new, {counts['removed']} removed, {counts['changed']} changed"
            + (f" ({result.note})" if result.note else "")
        )
    for result in results:
        for row in result.rows():
            detail = (
                f"  {row['fields']}: {row['before']} -> {row['after']}" if row["change"] == "changed" else ""
            )
            lines.append(f"{row['change']:8} {row['tool']:9} {row['endpoint_key']}{detail}")
    return "\n".join(lines)


def render_json(results: list[ToolChanges], before: date, after: date) -> str:
    import orjson

    return orjson.dumps(
        {
            "from": str(before),
            "to": str(after),
            "tools": {r.tool: {**r.counts(), "note": r.note} for r in results},
            "changes": [row for r in results for row in r.rows()],
        },
        option=orjson.OPT_INDENT_2,
    ).decode()
