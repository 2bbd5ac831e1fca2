"""Everything a date's reports show, gathered once: records, merge, findings, changes and the run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from apiinv import __version__
from apiinv.changes import ToolChanges, change_set, load_processed
from apiinv.config import Analysis
from apiinv.findings import FINDINGS, find
from apiinv.merge import merge
from apiinv.store import Store
from apiinv.timefmt import iso

RISK_ORDER = ("critical", "high", "medium", "low", "unknown")


@dataclass
class Dataset:
    day: str
    generated_at: str
    tools: list[str]
    manifest: dict[str, Any]
    records: dict[str, list[dict[str, Any]]]
    merged: list[dict[str, Any]]
    findings: dict[str, list[dict[str, Any]]]
    changes: list[ToolChanges]
    analysis: Analysis

    @property
    def generator(self) -> str:
        return f"apiinv {__version__}"

    def step(self, tool: str, step: str) -> dict[str, Any]:
        return self.manifest.get("tools", {}).get(tool, {}).get(step) or {}

    def changes_for(self, tool: str) -> ToolChanges | None:
        return next((c for c in self.changes if c.tool == tool), None)

    def change_rows(self, tool: str | None = None) -> list[dict[str, Any]]:
        return [row for c in self.changes if tool in (None, c.tool) for row in c.rows()]

    def failed_tools(self) -> list[str]:
        return [
            t
            for t in self.tools
            if any(self.step(t, s).get("status") not in (None, "ok") for s in ("collect", "process"))
        ]

    def risk_by_tool(self) -> dict[str, Counter[str]]:
        """Per tool, its endpoints counted by the merged risk level (from traffic; unknown without)."""
        level = {row["endpoint_key"]: row["risk_level"] or "unknown" for row in self.merged}
        return {
            tool: Counter(level.get(r["endpoint_key"], "unknown") for r in records)
            for tool, records in self.records.items()
        }

    def summary(self) -> dict[str, Any]:
        risk = Counter(row["risk_level"] or "unknown" for row in self.merged)
        totals = Counter()
        for change in self.changes:
            totals.update(change.counts())
        return {
            "endpoints": len(self.merged),
            "records": {tool: len(records) for tool, records in self.records.items()},
            "risk_levels": {level: risk.get(level, 0) for level in RISK_ORDER},
            "findings": {name: len(self.findings[name]) for name in FINDINGS},
            "changes": {key: totals.get(key, 0) for key in ("new", "removed", "changed", "held_back")},
            "failed_tools": self.failed_tools(),
        }


def build(
    store: Store, day: date | str, tools: list[str], analysis: Analysis, *, now: datetime | None = None
) -> Dataset:
    manifest = store.read_manifest(day)
    records: dict[str, list[dict[str, Any]]] = {}
    for tool in tools:
        step = manifest.get("tools", {}).get(tool, {}).get("process") or {}
        loaded = load_processed(store, day, tool) if step.get("status") in ("ok", "invalid") else None
        if loaded is not None:
            records[tool] = loaded
    everything = [r for recs in records.values() for r in recs]
    merged = merge(everything)
    moment = now or datetime.now(UTC)
    return Dataset(
        day=str(day),
        generated_at=iso(moment),
        tools=tools,
        manifest=manifest,
        records=records,
        merged=merged,
        findings=find(merged, everything, analysis, now=moment),
        changes=change_set(store, day, tools, analysis),
        analysis=analysis,
    )
