"""What changed: new, removed and changed endpoints of each tool since its last complete run.

A tool that has no successful processing for the date contributes nothing (so no false removals), and a
tool whose endpoint count fell by more than the drop guard is flagged suspect: its removals are held
back rather than reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apiinv.inventory.records import Row

COMPARED = (
    "status",
    "auth_required",
    "auth_types",
    "risk_level",
    "audit_score",
    "sensitive_data",
    "products",
)
# Every field of a record that a diff reads: the earlier side of a change set is read for these alone.
DIFFED = ("endpoint_key", "api_name", "url", *COMPARED)


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


def _by_key(records: list[Row]) -> dict[str, Row]:
    keyed: dict[str, Row] = {}
    for record in records:
        keyed.setdefault(record["endpoint_key"], record)
    return keyed


def _row(
    change: str, tool: str, record: Row, fields: str = "", before: str = "", after: str = ""
) -> dict[str, Any]:
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
    tool: str,
    old: list[Row],
    new: list[Row],
    *,
    drop_guard: float | None = None,
    items_failed: int = 0,
) -> ToolChanges:
    """Pure: the changes from ``old`` to ``new`` records of one tool. ``items_failed``: items of the new
    collection that could not be fetched; what they held may look removed, so nothing is."""
    before, after = _by_key(old), _by_key(new)
    result = ToolChanges(tool, None)
    result.new = [_row("new", tool, after[k]) for k in sorted(after.keys() - before.keys())]
    removed = [_row("removed", tool, before[k]) for k in sorted(before.keys() - after.keys())]
    if items_failed and removed:
        result.held_back = len(removed)
        result.note = (
            f"partial: {items_failed:,} item(s) could not be fetched; {len(removed):,} removals held back"
        )
    elif drop_guard is not None and before and len(after) < (1 - drop_guard) * len(before):
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
