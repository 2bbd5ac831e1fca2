"""Everything a date's reports show, gathered once: each tool's data (the date's own, or its last
complete data carried forward when it failed), the merge, findings, changes and the run.

The report must say only what the data supports: a tool whose data is not from the run date makes the
run ``incomplete``, names itself and its data date in a banner, never contributes removals, and a
finding that would stand on no data at all of a role it needs is not computed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apiinv import __version__
from apiinv.analysis import priority
from apiinv.analysis.changes import ToolChanges
from apiinv.analysis.findings import DEPENDS_ON, FINDINGS, REQUIRES
from apiinv.config import Analysis
from apiinv.inventory.records import Row
from apiinv.timefmt import iso

RISK_ORDER = ("critical", "high", "medium", "low", "info", "unknown")
RISK_RANK = {level: rank for rank, level in enumerate(RISK_ORDER)}
CHANGE_KINDS = ("new", "removed", "changed")


def by_risk(row: Row) -> tuple[int, float, str]:
    """Sort key: critical first, then the higher score, then the key (stable across runs)."""
    return (
        RISK_RANK[row.get("risk_level") or "unknown"],
        -(row.get("risk_score") or 0.0),
        row["endpoint_key"],
    )


@dataclass
class ToolData:
    """What one tool contributes to a date's report, and how much that can be trusted."""

    tool: str
    role: str  # gateway | spec | traffic | other
    status: str  # ok | partial | truncated | failed | not_run
    data_date: str | None  # the run date, a carried-forward date, or None when there is no data
    records: list[Row] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fresh(self, day: str) -> bool:
        return self.data_date == day

    def whole(self, day: str) -> bool:
        """All of it from ``day``: a partial tool's data is of the date but for what stands in."""
        return self.fresh(day) and self.status != "partial"

    def describe(self, day: str) -> str:
        if self.data_date is None:
            return f"{self.tool} {self.status}, no data"
        if self.data_date != day:
            return f"{self.tool} {self.status}, data of {self.data_date} used"
        return f"{self.tool} {self.status}"


@dataclass
class Dataset:
    day: str
    generated_at: str
    now: datetime
    tools: list[str]
    manifest: dict[str, Any]
    data: dict[str, ToolData]
    merged: list[Row]
    findings: dict[str, list[Row]]
    finding_notes: dict[str, str]
    changes: list[ToolChanges]
    analysis: Analysis
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier dates' trend points
    _summaries: dict[str | None, dict[str, Any]] = field(default_factory=dict, repr=False)
    _digests: dict[tuple[str | None, int, int], dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def generator(self) -> str:
        return f"apiinv {__version__}"

    @property
    def records(self) -> dict[str, list[Row]]:
        return {tool: d.records for tool, d in self.data.items() if d.data_date is not None}

    @property
    def incomplete(self) -> bool:
        return any(not d.whole(self.day) for d in self.data.values())

    def banner(self) -> str | None:
        """One sentence for the top of every report when the data is not all from the run date."""
        stale = [d for d in self.data.values() if not d.whole(self.day)]
        if not stale:
            return None
        parts = ", ".join(d.describe(self.day) for d in stale)
        return (
            f"Incomplete: this report stands on incomplete data ({parts}). Findings that depend on "
            "these tools may be missing or out of date; no removals are reported for them."
        )

    def step(self, tool: str, step: str) -> dict[str, Any]:
        return self.manifest.get("tools", {}).get(tool, {}).get(step) or {}

    def changes_for(self, tool: str) -> ToolChanges | None:
        return next((c for c in self.changes if c.tool == tool), None)

    def change_rows(self, tool: str | None = None) -> list[dict[str, Any]]:
        return [row for c in self.changes if tool in (None, c.tool) for row in c.rows()]

    def failed_tools(self) -> list[str]:
        return [t for t, d in self.data.items() if d.status != "ok"]

    def rows_of(self, tool: str | None) -> list[Row]:
        return self.merged if tool is None else [r for r in self.merged if tool in r["instances"]]

    def risk_by_tool(self) -> dict[str, Counter[str]]:
        """Per tool, its endpoints counted by the merged risk level (from traffic; unknown without)."""
        return {
            tool: Counter(row["risk_level"] or "unknown" for row in self.rows_of(tool)) for tool in self.tools
        }

    def change_counts(self, tool: str | None = None) -> dict[str, int]:
        """Distinct endpoints new, removed and changed (an endpoint new in two tools is one new endpoint)."""
        rows = self.change_rows(tool)
        counts = {
            kind: len({r["endpoint_key"] for r in rows if r["change"] == kind}) for kind in CHANGE_KINDS
        }
        counts["held_back"] = sum(c.held_back for c in self.changes if tool in (None, c.tool))
        return counts

    def trend(self) -> list[dict[str, Any]]:
        """The last ``trend_runs`` reported dates up to this one (never after it), oldest first."""
        return [*self.history, trend_point(self.day, self.summary())][-self.analysis.trend_runs :]

    def digest(self, tool: str | None = None, top: int = 10, changes_top: int = 20) -> dict[str, Any]:
        """What to act on first and what each finding holds, for the Summary sheet and the mail alike
        (the mail reads it back from the manifest): the ranked endpoints, each finding's split by risk,
        its riskiest rows and the rest grouped by API, and the new and removed endpoints with why they
        matter. Of the endpoints ``tool`` sees, when given. Made once: the workbook, the JSON report,
        the manifest and the mail show the same (so they read it and never change it)."""
        asked = (tool, top, changes_top)
        if asked not in self._digests:
            self._digests[asked] = self._digest(tool, top, changes_top)
        return self._digests[asked]

    def _digest(self, tool: str | None, top: int, changes_top: int) -> dict[str, Any]:
        keys = None if tool is None else {r["endpoint_key"] for r in self.rows_of(tool)}
        findings = {
            name: [r for r in rows if keys is None or r["endpoint_key"] in keys]
            for name, rows in self.findings.items()
        }
        by_key = {row["endpoint_key"]: row for row in self.merged}
        in_findings: dict[str, list[str]] = {}
        for name in FINDINGS:
            for row in findings.get(name, []):
                in_findings.setdefault(row["endpoint_key"], []).append(name)

        def distinct(kind: str) -> list[dict[str, Any]]:
            rows: dict[str, dict[str, Any]] = {}
            for row in self.change_rows(tool):
                if row["change"] == kind:
                    rows.setdefault(row["endpoint_key"], row)
            return sorted(rows.values(), key=lambda r: by_risk(by_key.get(r["endpoint_key"]) or r))

        def brief(change: dict[str, Any]) -> dict[str, Any]:
            merged = by_key.get(change["endpoint_key"], change)
            return {
                "endpoint_key": change["endpoint_key"],
                "risk_level": merged.get("risk_level") or "unknown",
                "tools": merged.get("tools") or [change.get("tool")],
                "reason": priority.why_change(change, by_key, in_findings),
            }

        changes = {}
        for kind in ("new", "removed"):
            rows = distinct(kind)
            changes[kind] = {"count": len(rows), "top": [brief(r) for r in rows[:changes_top]]}
        critical = {
            r["endpoint_key"] for rows in findings.values() for r in rows if r["risk_level"] == "critical"
        }
        return {
            "critical": len(critical),
            "act_first": priority.act_first(findings, keys, top),
            "findings": {
                name: priority.finding_digest(name, findings.get(name, []), top) for name in FINDINGS
            },
            **changes,
        }

    def run_section(self) -> dict[str, Any]:
        return {
            "incomplete": self.incomplete,
            "banner": self.banner(),
            "clock": iso(self.now),
            "tools": {
                tool: {
                    "status": d.status,
                    "data_date": d.data_date,
                    "records": len(d.records),
                    "baseline": bool((c := self.changes_for(tool)) and c.baseline),
                    "errors": [{"id": e.get("id"), "code": e.get("code")} for e in d.errors],
                }
                for tool, d in self.data.items()
            },
        }

    def summary(self, tool: str | None = None) -> dict[str, Any]:
        """The counts of the whole estate, or of what one tool sees (its share of every finding).
        Computed once per tool: export, the JSON, the workbooks and the mail all ask for it."""
        if tool not in self._summaries:
            self._summaries[tool] = self._summary(tool)
        return self._summaries[tool]

    def _summary(self, tool: str | None) -> dict[str, Any]:
        rows = self.rows_of(tool)
        keys = {r["endpoint_key"] for r in rows}
        risk = Counter(row["risk_level"] or "unknown" for row in rows)
        tools = self.tools if tool is None else [tool]
        return {
            "endpoints": len(rows),
            "records": {t: len(self.data[t].records) for t in tools if t in self.data},
            "risk_levels": {level: risk.get(level, 0) for level in RISK_ORDER},
            "findings": {
                name: sum(1 for r in self.findings[name] if r["endpoint_key"] in keys) for name in FINDINGS
            },
            "finding_notes": self.finding_notes,
            "changes": self.change_counts(tool),
            "baseline": [c.tool for c in self.changes if c.baseline and c.tool in tools],
            "failed_tools": [t for t in self.failed_tools() if t in tools],
            "incomplete": self.incomplete,
            "banner": self.banner(),
            "data_dates": {t: self.data[t].data_date for t in tools if t in self.data},
        }


def trend_point(day: str, summary: dict[str, Any]) -> dict[str, Any]:
    changes = summary.get("changes") or {}
    return {
        "date": day,
        "endpoints": summary.get("endpoints", 0),
        "findings": dict(summary.get("findings") or {}),
        "new": changes.get("new", 0),
        "removed": changes.get("removed", 0),
        "incomplete": bool(summary.get("incomplete")),
    }


def finding_notes(data: dict[str, ToolData], day: str) -> tuple[dict[str, str], set[str]]:
    """Per finding, what incomplete data it stands on; and the findings not computed for want of data."""
    by_role: dict[str, list[ToolData]] = {}
    for d in data.values():
        by_role.setdefault(d.role, []).append(d)
    notes, skip = {}, set()
    for name in FINDINGS:
        missing = [
            r for r in REQUIRES[name] if by_role.get(r) and all(d.data_date is None for d in by_role[r])
        ]
        if missing:
            skip.add(name)
            notes[name] = f"not computed: no {' or '.join(missing)} data this run"
            continue
        stale = [d for r in DEPENDS_ON[name] for d in by_role.get(r, []) if not d.fresh(day)]
        if stale:
            notes[name] = "stands on " + ", ".join(d.describe(day) for d in stale)
    return notes, skip
