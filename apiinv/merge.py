"""The combined inventory: tools' records merged on endpoint_key, with a source of truth per field.

Gateways (Apigee, Kong) say whether an endpoint exists and is deployed; 42Crunch owns the audit;
Cequence owns what traffic shows: risk, sensitive data, first and last seen. Authentication is taken
from traffic when traffic saw the endpoint (what really happens), else from the gateway, else the spec.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from apiinv.keys import ANY_METHOD, covers, path_key, split_key

GATEWAYS = frozenset({"apigee", "kong"})
SPECS = frozenset({"42crunch"})
TRAFFIC = frozenset({"cequence"})
AUDIT_LEVELS = ("critical", "high", "medium", "low", "info")


def role(tool: str) -> str:
    return (
        "gateway"
        if tool in GATEWAYS
        else "spec"
        if tool in SPECS
        else "traffic"
        if tool in TRAFFIC
        else "other"
    )


@dataclass
class PrefixIndex:
    """Records that serve every path below theirs (Kong plain routes, Apigee base paths), by host and
    first path segment, so that a lookup looks at a handful of candidates, not at all of them."""

    buckets: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] = field(default_factory=dict)

    @staticmethod
    def _first(path: str) -> str:
        return path.strip("/").split("/", 1)[0]

    def add(self, record: dict[str, Any]) -> None:
        method, host, path = split_key(record["endpoint_key"])
        self.buckets.setdefault((host, self._first(path)), []).append((method, path, record))
        if path in ("", "/"):
            self.buckets.setdefault((host, "*"), []).append((method, path, record))

    def covering(self, key: str) -> list[dict[str, Any]]:
        method, host, path = split_key(key)
        found = []
        for candidate_host in (host, ""):
            for bucket in ((candidate_host, self._first(path)), (candidate_host, "*")):
                for prefix_method, prefix, record in self.buckets.get(bucket, ()):
                    if prefix_method in (ANY_METHOD, method) and covers(prefix, path):
                        found.append(record)
        return found


def _first(records: list[dict[str, Any]], name: str) -> Any:
    for record in records:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


def merge(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per endpoint_key, sorted by key."""
    by_key: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_key[record["endpoint_key"]][role(record["tool"])].append(record)
    return [_merge_one(key, roles) for key, roles in sorted(by_key.items())]


def _merge_one(key: str, roles: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    gateway, spec, traffic = roles.get("gateway", []), roles.get("spec", []), roles.get("traffic", [])
    every = gateway + spec + traffic + roles.get("other", [])
    method, host, path = split_key(key)
    auth_from = traffic if traffic and traffic[0]["auth_required"] is not None else gateway or spec or traffic
    audit = spec[0] if spec else None
    issues = (audit or {}).get("audit_issues") or {}
    row: dict[str, Any] = {
        "endpoint_key": key,
        "method": method,
        "host": host,
        "path": path,
        "url": _first(gateway + spec + traffic, "url"),
        "api_name": _first(gateway + spec + traffic, "api_name"),
        "tools": sorted({r["tool"] for r in every}),
        "instances": sorted({r["instance"] for r in every}),
        "in_gateway": bool(gateway),
        "in_spec": bool(spec),
        "in_traffic": bool(traffic),
        "path_match": "prefix"
        if any(r["path_match"] == "prefix" or r["method"] == ANY_METHOD for r in gateway + spec)
        else "exact",
        "gateway_status": ("deployed" if any(r["status"] == "deployed" for r in gateway) else "undeployed")
        if gateway
        else None,
        "environment": ", ".join(sorted({r["environment"] for r in gateway if r.get("environment")})) or None,
        "auth_required": auth_from[0]["auth_required"] if auth_from else None,
        "auth_types": sorted({t for r in auth_from for t in r["auth_types"]}),
        "auth_source": auth_from[0]["tool"] if auth_from else None,
        "sensitive_data": sorted({s for r in traffic for s in r["sensitive_data"]}),
        "risk_score": max((r["risk_score"] for r in traffic if r["risk_score"] is not None), default=None),
        "risk_level": _first(sorted(traffic, key=lambda r: -(r["risk_score"] or 0)), "risk_level"),
        "traffic_status": _first(traffic, "status"),
        "first_seen": min((r["first_seen"] for r in traffic if r["first_seen"]), default=None),
        "last_seen": max((r["last_seen"] for r in traffic if r["last_seen"]), default=None),
        "audit_score": audit["audit_score"] if audit else None,
        **{f"audit_{level}": issues.get(level) for level in AUDIT_LEVELS},
        "audit_date": audit["audit_date"] if audit else None,
        "scan_state": audit["scan_state"] if audit else None,
        "collection": _first(spec, "collection"),
        "products": sorted({p for r in gateway for p in r["products"]}),
        "last_modified": max((r["last_modified"] for r in gateway if r["last_modified"]), default=None),
        "tags": sorted({t for r in every for t in r["tags"]}),
        "owner": _first(every, "owner"),
    }
    return row


class TrafficIndex:
    """Traffic records by first path segment: exact, prefix and host-less lookups stay cheap."""

    def __init__(self) -> None:
        self.buckets: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = defaultdict(list)

    def add(self, record: dict[str, Any]) -> None:
        method, host, path = split_key(record["endpoint_key"])
        self.buckets[PrefixIndex._first(path)].append((method, host, path, record))

    def find(self, key: str, *, prefix: bool, hostless: bool) -> list[dict[str, Any]]:
        """Traffic for an endpoint, or for everything under a prefix; on any host when ``hostless``."""
        method, host, path = split_key(key)
        first = PrefixIndex._first(path)
        candidates = self.buckets.get(first, []) if first else [e for b in self.buckets.values() for e in b]
        return [
            record
            for seen_method, seen_host, seen_path, record in candidates
            if method in (ANY_METHOD, seen_method)
            and (hostless or seen_host == host)
            and (covers(path, seen_path) if prefix else seen_path == path)
        ]


@dataclass
class Indexes:
    """Lookups the findings need beyond exact keys: prefix coverage and host-less matching."""

    documented: PrefixIndex = field(default_factory=PrefixIndex)  # gateway and spec prefix records
    hostless: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by path_key: no host known
    specs_by_path: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by path_key, any host
    traffic: TrafficIndex = field(default_factory=TrafficIndex)
    traffic_collected: bool = False

    @classmethod
    def build(cls, records: Iterable[dict[str, Any]]) -> Indexes:
        indexes = cls()
        for record in records:
            kind = role(record["tool"])
            if kind == "spec":
                indexes.specs_by_path.setdefault(path_key(record["endpoint_key"]), []).append(record)
            if kind in ("gateway", "spec"):
                if record["path_match"] == "prefix" or record["method"] == ANY_METHOD:
                    indexes.documented.add(record)
                elif not record["host"]:
                    indexes.hostless.setdefault(path_key(record["endpoint_key"]), []).append(record)
            elif kind == "traffic":
                indexes.traffic.add(record)
                indexes.traffic_collected = True
        return indexes

    def covering(self, key: str) -> list[dict[str, Any]]:
        """Gateway and spec records that serve ``key`` without having its exact key: prefix routes and
        base paths, and entries that know no host (an undeployed proxy) for the same path."""
        return self.documented.covering(key) + self.hostless.get(path_key(key), [])
