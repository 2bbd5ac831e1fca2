"""What to act on first: every finding's endpoints ranked by one score, each finding split by risk, the
rows nobody can act on one by one grouped by API, and why each new or removed endpoint matters.

    score = severity of the finding x weight of the endpoint's risk level x exposure
    exposure = 1 + 0.5 for each of: no authentication, sensitive data, an internet-facing host, in no gateway

An endpoint in several findings is ranked by its highest-scoring one. Pure: computed from the merged
rows and the findings, the same for the Summary sheet, the JSON report and the mail.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from apiinv.analysis.findings import FINDINGS, TITLES
from apiinv.inventory.records import Row

# How much a finding weighs: an open door to sensitive data first, what nobody governs next, what may
# be dead code last.
SEVERITY = {"unauthenticated_sensitive": 5, "shadow": 4, "zombie": 4, "unaudited": 2, "orphan": 1}
# The endpoint's risk level as traffic scores it; unknown (no traffic) weighs as low.
RISK_WEIGHT = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0.5, "unknown": 1}
EXPOSURE_STEP = 0.5
# Rows at these risk levels are listed one by one; the rest of a finding is grouped by API.
LISTED_LEVELS = ("critical", "high", "medium")
SPLIT = ("critical", "high", "medium", "low", "other")
ACT_FIRST = 10
GROUPS = 5
# Host names that do not face the internet.
_INTERNAL_SUFFIXES = (".internal", ".local", ".lan", ".corp", ".intranet", ".localdomain", ".svc")
# The reader's sentence for each finding, the row's own reason after it.
MEANING = {
    "shadow": "Called in production traffic, yet no gateway or spec knows it",
    "unaudited": "Its contract is not checked",
    "unauthenticated_sensitive": "Open to anyone, with sensitive data",
    "orphan": "Deployed but nobody calls it: attack surface with no use",
    "zombie": "Undeployed in the gateway, yet still called",
}
# What a reader does about each finding (the Read me sheet and docs/reports.md).
ACTION = {
    "shadow": "Find its owner; put it behind the gateway and document it, or shut it down.",
    "unaudited": "Import or update its spec and have it audited; fix the issues the audit names.",
    "unauthenticated_sensitive": "Require authentication now, or stop the sensitive data leaving.",
    "orphan": "Confirm with the owner and undeploy it; the APIs grouped together are usually one decision.",
    "zombie": "Find what still calls it and stop the traffic (it bypasses the gateway's policies).",
}


@lru_cache(maxsize=65536)  # an estate's rows share few hosts; parsing one as an address is the cost
def internet_facing(host: str | None) -> bool:
    """A named public host: not an address in a private range, not localhost, not an internal suffix.
    A row that knows no host is not counted as facing the internet."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0].strip("[]").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name != "localhost" and not name.endswith(_INTERNAL_SUFFIXES)
    return address.is_global


def exposure(row: Mapping[str, Any]) -> list[str]:
    """What makes an endpoint easier to reach or worth more to an attacker, in the reader's words."""
    found = []
    if row.get("auth_required") is False:
        found.append("no authentication")
    if row.get("sensitive_data"):
        found.append("sensitive data")
    if internet_facing(row.get("host")):
        found.append("internet-facing")
    if not row.get("in_gateway"):
        found.append("in no gateway")
    return found


def level(row: Mapping[str, Any]) -> str:
    return row.get("risk_level") or "unknown"


def score(finding: str, row: Mapping[str, Any], exposed: list[str] | None = None) -> float:
    exposed = exposure(row) if exposed is None else exposed
    return round(SEVERITY[finding] * RISK_WEIGHT[level(row)] * (1 + EXPOSURE_STEP * len(exposed)), 1)


def _split(rows: Iterable[Row]) -> dict[str, int]:
    counts = Counter(level(r) if level(r) in SPLIT else "other" for r in rows)
    return {name: counts.get(name, 0) for name in SPLIT}


def _brief(finding: str, row: Row) -> dict[str, Any]:
    exposed = exposure(row)
    return {
        "endpoint_key": row["endpoint_key"],
        "risk_level": level(row),
        "score": score(finding, row, exposed),
        "finding": finding,
        "sheet": TITLES[finding],
        "reason": f"{MEANING[finding]}: {row['reason']}",
        "exposure": exposed,
        "tools": list(row.get("tools") or []),
        "owner": row.get("owner"),
    }


def _rank_of(finding: str, row: Row) -> tuple[float, float, str]:
    """Where a row stands in a finding, riskiest first: its score, then its risk level, then its key."""
    return (-score(finding, row), -RISK_WEIGHT[level(row)], row["endpoint_key"])


def act_first(
    findings: Mapping[str, list[Row]], keys: set[str] | None = None, top: int = ACT_FIRST
) -> list[dict[str, Any]]:
    """The ``top`` riskiest endpoints across all findings (of ``keys`` only, when given), each once,
    under its highest-scoring finding, with the other findings it is in."""
    best: dict[str, tuple[tuple[float, float, str], str, Row]] = {}
    also: dict[str, list[str]] = {}
    for name in FINDINGS:
        for row in findings.get(name, []):
            key = row["endpoint_key"]
            if keys is not None and key not in keys:
                continue
            also.setdefault(key, []).append(name)
            rank = _rank_of(name, row)
            if key not in best or rank < best[key][0]:
                best[key] = (rank, name, row)
    ranked = heapq.nsmallest(top, best.values(), key=lambda entry: entry[0])  # only the top are described
    return [
        {"rank": place, **item, "also_in": [n for n in also[item["endpoint_key"]] if n != item["finding"]]}
        for place, item in enumerate((_brief(name, row) for _, name, row in ranked), 1)
    ]


def finding_digest(name: str, rows: list[Row], top: int = 10, groups: int = GROUPS) -> dict[str, Any]:
    """One finding: its count split by risk, the riskiest rows one by one (critical to medium only), the
    rest grouped by API with its owner (one decision each)."""
    listed_rows = [r for r in rows if level(r) in LISTED_LEVELS]
    listed = [_brief(name, r) for r in heapq.nsmallest(top, listed_rows, key=lambda r: _rank_of(name, r))]
    by_api: dict[tuple[str, str | None], list[Row]] = {}
    for row in rows:
        if level(row) not in LISTED_LEVELS:
            api = row.get("api_name") or row.get("host") or "(no API name)"
            by_api.setdefault((api, row.get("owner")), []).append(row)
    grouped = sorted(by_api.items(), key=lambda item: (-len(item[1]), item[0][0]))
    return {
        "count": len(rows),
        "split": _split(rows),
        "top": listed[:top],
        "grouped": sum(len(r) for r in by_api.values()),
        "groups": [
            {
                "api": api,
                "owner": owner,
                "count": len(members),
                "reason": Counter(r["reason"] for r in members).most_common(1)[0][0],
            }
            for (api, owner), members in grouped[:groups]
        ],
        "group_count": len(grouped),
    }


def why_change(
    change: Mapping[str, Any], merged: Mapping[str, Row], in_findings: Mapping[str, list[str]]
) -> str:
    """Why a new or removed endpoint matters, in a few words: the findings it is in, else its exposure
    and risk; for a removal, whether other tools still see it."""
    key = change["endpoint_key"]
    row = merged.get(key)
    parts = [f"{change['change']} in {change['tool']}"]
    if change["change"] == "removed":
        others = [t for t in (row or {}).get("tools") or [] if t != change["tool"]]
        parts.append(f"still seen by {', '.join(others)}" if others else "no tool sees it any more")
    if key in in_findings:
        parts.append(", ".join(TITLES[n].lower() for n in in_findings[key]))
    elif row is not None:
        parts += exposure(row)
    if row is not None and level(row) in LISTED_LEVELS:
        parts.append(f"{level(row)} risk")
    return "; ".join(parts)


def describe_groups(entry: dict[str, Any]) -> str:
    """A finding's grouped endpoints in a line: how many, in how many APIs, the largest with owners."""
    largest = "; ".join(
        g["api"] + (f" ({g['owner']})" if g["owner"] else "") + f": {g['count']}" for g in entry["groups"]
    )
    return f"{entry['grouped']:,} endpoints in {entry['group_count']:,} APIs. Largest: {largest}"
