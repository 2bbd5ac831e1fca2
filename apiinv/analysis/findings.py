"""Findings over the merged inventory: what a security team should look at first.

- shadow: seen in traffic, served by no gateway and known to no spec;
- unaudited: in a gateway or in traffic, with no spec audit, an old audit, or a low grade;
- unauthenticated_sensitive: no authentication, sensitive data in traffic;
- orphan: deployed in a gateway, no traffic for N days (or never, when traffic was collected);
- zombie: undeployed in a gateway, still in traffic within N days.

Pure: every age is measured against ``now``, the end of the run date, which the caller passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from apiinv.analysis.serving import Indexes
from apiinv.config import Analysis
from apiinv.inventory.records import Row
from apiinv.timefmt import parse

FINDINGS = ("shadow", "unaudited", "unauthenticated_sensitive", "orphan", "zombie")
TITLES = {
    "shadow": "Shadow APIs",
    "unaudited": "Unaudited",
    "unauthenticated_sensitive": "Unauthenticated sensitive",
    "orphan": "Orphan",
    "zombie": "Zombie",
}
# What puts an endpoint in each finding (the Read me sheet; docs/reports.md says the same).
DEFINITIONS = {
    "shadow": "In traffic, served by no gateway and in no spec.",
    "unaudited": "In a gateway or in traffic, with no spec audit, an audit older than audit_max_age_days, "
    "or a grade under min_audit_grade.",
    "unauthenticated_sensitive": "Called without authentication, with sensitive data in its traffic.",
    "orphan": "Deployed in a gateway, with no traffic for orphan_after_days (or never, when traffic is "
    "collected).",
    "zombie": "Undeployed in a gateway, still in traffic within zombie_within_days.",
}


class Finding(Mapping[str, Any]):
    """A merged row with the reason it is a finding: reads as the row plus ``reason``, without a copy
    of the row (most endpoints are in some finding, a few in several)."""

    __slots__ = ("reason", "row")

    def __init__(self, row: Mapping[str, Any], reason: str) -> None:
        self.row, self.reason = row, reason

    def __getitem__(self, key: str) -> Any:
        return self.reason if key == "reason" else self.row[key]

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping's get goes through __getitem__ and a KeyError; the workbooks call this per cell.
        return self.reason if key == "reason" else self.row.get(key, default)

    def __iter__(self) -> Iterator[str]:
        yield from self.row
        yield "reason"

    def __len__(self) -> int:
        return len(self.row) + 1


# The roles whose data each finding stands on: a finding is only as complete as these.
DEPENDS_ON = {
    "shadow": ("traffic", "gateway", "spec"),
    "unaudited": ("spec", "gateway", "traffic"),
    "unauthenticated_sensitive": ("traffic",),
    "orphan": ("gateway", "traffic"),
    "zombie": ("gateway", "traffic"),
}
# Without any data of these roles the finding would call everything a problem: it is not computed.
REQUIRES = {
    "shadow": ("traffic",),
    "unaudited": ("spec",),
    "unauthenticated_sensitive": ("traffic",),
    "orphan": ("gateway", "traffic"),
    "zombie": ("gateway", "traffic"),
}


def _older_than(stamp: str | None, days: int, now: datetime) -> bool:
    moment = parse(stamp)
    return moment is None or moment < now - timedelta(days=days)


def find(
    merged: list[Row],
    records: list[Row],
    analysis: Analysis,
    *,
    now: datetime,
    roles: Mapping[str, str],
    skip: frozenset[str] | set[str] = frozenset(),
    indexes: Indexes | None = None,
) -> dict[str, list[Row]]:
    """Each finding's rows: the merged row plus a ``reason``. Findings in ``skip`` stay empty; ``roles``
    and ``indexes`` as for ``merge``."""
    indexes = indexes or Indexes.build(records, roles)
    results: dict[str, list[Row]] = {name: [] for name in FINDINGS}

    def add(name: str, row: Row, reason: str) -> None:
        if name not in skip:
            results[name].append(Finding(row, reason))

    for row in merged:
        key = row["endpoint_key"]

        known = row["in_gateway"] or row["in_spec"]
        if row["in_traffic"] and not known and not indexes.specs_serving(key):
            add("shadow", row, "in traffic; served by no gateway and in no spec")

        if row["in_gateway"] or row["in_traffic"]:
            reason = _unaudited_reason(row, analysis, now, indexes)
            if reason:
                add("unaudited", row, reason)

        if row["auth_required"] is False and row["sensitive_data"]:
            add(
                "unauthenticated_sensitive",
                row,
                f"no authentication; carries {', '.join(row['sensitive_data'])}",
            )

        if row["gateway_status"] == "deployed" and indexes.traffic_collected:
            seen = row["last_seen"] if row["in_traffic"] else _last_seen(indexes, key, any_host=False)
            if seen is None:
                add("orphan", row, "deployed; never seen in traffic")
            elif _older_than(seen, analysis.orphan_after_days, now):
                add("orphan", row, f"deployed; no traffic since {seen[:10]}")

        if row["gateway_status"] == "undeployed":
            seen = row["last_seen"] if row["in_traffic"] else _last_seen(indexes, key, any_host=True)
            if seen and not _older_than(seen, analysis.zombie_within_days, now):
                add("zombie", row, f"undeployed; still in traffic on {seen[:10]}")
    return results


def _last_seen(indexes: Indexes, key: str, *, any_host: bool) -> str | None:
    """The newest traffic on what this row's own gateway and spec entries serve (a route's paths below
    it, the paths an operation's template fills)."""
    seen = [
        latest
        for entry in indexes.entries(key)
        if (latest := indexes.traffic.latest(entry, any_host=any_host))
    ]
    return max(seen, default=None)


def _unaudited_reason(row: Row, analysis: Analysis, now: datetime, indexes: Indexes) -> str | None:
    score, audited_at = row["audit_score"], row["audit_date"]
    if not row["in_spec"]:
        # A spec's base path or host-less operation serves it; an entry that knows no host is audited by
        # its path's spec on any host.
        specs = indexes.specs_serving(row["endpoint_key"], any_host=not row["host"])
        if not specs:
            return "no audit: in no spec"
        audited = [r for r in specs if r["audit_score"] is not None] or specs
        score, audited_at = audited[0]["audit_score"], audited[0]["audit_date"]
    if score is None:
        return "in a spec, never audited"
    if _older_than(audited_at, analysis.audit_max_age_days, now):
        return f"audit older than {analysis.audit_max_age_days} days ({(audited_at or 'no date')[:10]})"
    if score < analysis.min_audit_grade:
        return f"audit grade {score:g} under {analysis.min_audit_grade:g}"
    return None
