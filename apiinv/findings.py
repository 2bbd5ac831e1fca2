"""Findings over the merged inventory: what a security team should look at first.

- shadow: seen in traffic, known to no gateway and no spec (prefix routes and base paths count);
- unaudited: in a gateway or in traffic, with no 42Crunch audit, an old audit, or a low grade;
- unauthenticated_sensitive: no authentication, sensitive data in traffic;
- orphan: deployed in a gateway, no traffic for N days (or never, when traffic was collected);
- zombie: undeployed in a gateway, still in traffic within N days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apiinv.config import Analysis
from apiinv.keys import path_key
from apiinv.merge import Indexes
from apiinv.timefmt import parse

FINDINGS = ("shadow", "unaudited", "unauthenticated_sensitive", "orphan", "zombie")
TITLES = {
    "shadow": "Shadow APIs",
    "unaudited": "Unaudited",
    "unauthenticated_sensitive": "Unauthenticated sensitive",
    "orphan": "Orphan",
    "zombie": "Zombie",
}


def _older_than(stamp: str | None, days: int, now: datetime) -> bool:
    moment = parse(stamp)
    return moment is None or moment < now - timedelta(days=days)


def find(
    merged: list[dict[str, Any]],
    records: list[dict[str, Any]],
    analysis: Analysis,
    *,
    now: datetime | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each finding's rows: the merged row plus a ``reason``."""
    now = now or datetime.now(UTC)
    indexes = Indexes.build(records)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in FINDINGS}
    for row in merged:
        key = row["endpoint_key"]
        covered = indexes.covering(key) if row["in_traffic"] else []

        if row["in_traffic"] and not row["in_gateway"] and not row["in_spec"] and not covered:
            results["shadow"].append({**row, "reason": "in traffic; in no gateway and no spec"})

        if row["in_gateway"] or row["in_traffic"]:
            # A gateway entry with no host (an undeployed proxy): its path's spec on any host audits it.
            candidates = covered + (indexes.specs_by_path.get(path_key(key), []) if not row["host"] else [])
            reason = _unaudited_reason(row, analysis, now, candidates)
            if reason:
                results["unaudited"].append({**row, "reason": reason})

        if row["auth_required"] is False and row["sensitive_data"]:
            results["unauthenticated_sensitive"].append(
                {**row, "reason": f"no authentication; carries {', '.join(row['sensitive_data'])}"}
            )

        if row["gateway_status"] == "deployed" and indexes.traffic_collected:
            seen = (
                row["last_seen"]
                if row["in_traffic"]
                else _last_seen(
                    indexes.traffic.find(key, prefix=row["path_match"] == "prefix", hostless=False)
                )
            )
            if seen is None:
                results["orphan"].append({**row, "reason": "deployed; never seen in traffic"})
            elif _older_than(seen, analysis.orphan_after_days, now):
                results["orphan"].append({**row, "reason": f"deployed; no traffic since {seen[:10]}"})

        if row["gateway_status"] == "undeployed":
            seen_records = (
                indexes.traffic.find(key, prefix=True, hostless=True) if not row["in_traffic"] else []
            )
            seen = row["last_seen"] if row["in_traffic"] else _last_seen(seen_records)
            if seen and not _older_than(seen, analysis.zombie_within_days, now):
                results["zombie"].append({**row, "reason": f"undeployed; still in traffic on {seen[:10]}"})
    return results


def _last_seen(records: list[dict[str, Any]]) -> str | None:
    return max((r["last_seen"] for r in records if r.get("last_seen")), default=None)


def _unaudited_reason(
    row: dict[str, Any], analysis: Analysis, now: datetime, covered: list[dict[str, Any]]
) -> str | None:
    score, audited_at = row["audit_score"], row["audit_date"]
    if not row["in_spec"]:
        specs = [r for r in covered if r["tool"] == "42crunch"]
        if not specs:
            return "no 42Crunch audit"
        score, audited_at = specs[0]["audit_score"], specs[0]["audit_date"]
    if score is None:
        return "in 42Crunch, never audited"
    if _older_than(audited_at, analysis.audit_max_age_days, now):
        return f"audit older than {analysis.audit_max_age_days} days ({(audited_at or 'no date')[:10]})"
    if score < analysis.min_audit_grade:
        return f"audit grade {score:g} under {analysis.min_audit_grade:g}"
    return None
