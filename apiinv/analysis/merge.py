"""The combined inventory: tools' records merged on endpoint_key, with a source of truth per field.

Gateways say whether an endpoint exists and is deployed; specs own the audit; traffic owns what it
shows: risk, sensitive data, first and last seen. Authentication is taken from traffic when traffic saw
the endpoint (what really happens), else from the gateway, else the spec.

Which gateway entries and spec operations serve an endpoint is apiinv.analysis.serving's answer (each
family's own rules, apiinv.analysis.routers). Each per-method endpoint another tool knows is
attributed to the gateways that serve it, and to the spec operation that documents it (in_spec, its
audit, its authentication when nothing else knows); an any-method or host-less gateway row stays on its
own only where no per-method endpoint under it is known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from apiinv.analysis.routers import aws, kong, router_of
from apiinv.analysis.serving import Indexes, observed_paths, role, specs_serving
from apiinv.inventory.keys import ANY_METHOD, split_key
from apiinv.inventory.records import FrozenRow, Row

AUDIT_LEVELS = ("critical", "high", "medium", "low", "info")
MERGED_FIELDS = (
    "endpoint_key",
    "method",
    "host",
    "path",
    "url",
    "api_name",
    "tools",
    "instances",
    "in_gateway",
    "in_spec",
    "in_traffic",
    "path_match",
    "gateway_status",
    "environment",
    "auth_required",
    "auth_types",
    "auth_source",
    "sensitive_data",
    "risk_score",
    "risk_level",
    "traffic_status",
    "first_seen",
    "last_seen",
    "audit_score",
    *(f"audit_{level}" for level in AUDIT_LEVELS),
    "audit_date",
    "scan_state",
    "collection",
    "products",
    "last_modified",
    "tags",
    "owner",
)


def _nonempty(records: list[Row], name: str) -> Any:
    for record in records:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


def merge(records: Sequence[Row], *, roles: Mapping[str, str], indexes: Indexes | None = None) -> list[Row]:
    """One row per endpoint_key, sorted by key; gateways attributed to the endpoints they serve.
    ``roles``: tool name -> role (gateway, spec or traffic) of every tool the records come from;
    ``indexes``: built from the same records and roles, when the caller shares them with the findings."""
    indexes = indexes or Indexes.build(records, roles)
    if len(indexes.ordered) != len(records):  # the groups below are the indexes' records
        raise ValueError("merge: indexes built from other records than those given")
    router, specs = indexes.gateways, indexes.specs

    # A key's records by role, made in each of the two passes rather than kept between them: kept for
    # every key, they were the mapping per key that the sorted indexes replaced (same build time).
    def by_role(group: list[Row]) -> dict[str, list[Row]]:
        seen: dict[str, list[Row]] = defaultdict(list)
        for record in group:
            seen[role(record, roles)].append(record)
        return seen

    served_by: dict[str, list[Row]] = defaultdict(list)
    documented_by: dict[str, list[Row]] = {}
    unserved: set[int] = set()  # Kong routes on a key whose concrete paths they do not serve
    absorbed: set[int] = set()
    for key, group in indexes.groups():
        seen = by_role(group)
        method, host, key_path = split_key(key)
        others = [r for kind, rs in seen.items() if kind != "gateway" for r in rs]
        paths = sorted({p for r in others for p in observed_paths(r, key_path)})
        serving = router.serving(key, paths)
        if others:
            own = {id(r) for r in serving}
            unserved.update(
                id(r) for r in seen.get("gateway", []) if router_of(r) in (kong, aws) and id(r) not in own
            )
        if method == ANY_METHOD:
            continue
        if documenting := specs_serving(key, seen.get("spec", []), specs):
            documented_by[key] = documenting
        for record in serving:
            if record["endpoint_key"] == key:
                continue
            served_by[key].append(record)
            if record["method"] == ANY_METHOD or (host and not record["host"]):
                absorbed.add(id(record))
    dropped = absorbed | unserved
    rows: list[Row] = []
    # Equal texts and lists of texts stored once: of 355,000 lists in the rows of 10,000 APIs, 4,500
    # differ (tools, auth types, tags repeat), and half the texts are copies; 40 MB of 72 MB.
    strings: dict[Any, Any] = {}
    for key, group in indexes.groups():  # in key order
        seen = by_role(group)
        own_gateway = [r for r in seen.get("gateway", []) if id(r) not in dropped]
        if not own_gateway and not any(seen.get(k) for k in ("spec", "traffic", "other")):
            continue  # an any-method or host-less gateway row whose endpoints all have rows of their own
        rows.append(
            _merge_one(
                key,
                {**seen, "gateway": own_gateway},
                served_by.get(key, []),
                documented_by.get(key, []),
                strings,
            )
        )
    return rows


class MergedRow(FrozenRow):
    """One endpoint of the combined inventory (what ``_merge_one`` fills)."""

    __slots__ = MERGED_FIELDS
    FIELDS = MERGED_FIELDS


def _merge_one(
    key: str,
    roles: dict[str, list[Row]],
    served_by: list[Row],
    documented_by: list[Row],
    strings: dict[Any, Any],
) -> MergedRow:
    """``served_by``: the gateway entries, ``documented_by`` the spec operations that serve the key
    without having it, attributed as if they were its own; ``strings`` shares equal values between
    rows (``FrozenRow.of``)."""
    own_gateway, own_spec, traffic = roles.get("gateway", []), roles.get("spec", []), roles.get("traffic", [])
    gateway, spec = own_gateway + served_by, own_spec + documented_by
    every = gateway + spec + traffic + roles.get("other", [])
    method, host, path = split_key(key)
    named = own_gateway + own_spec + traffic + served_by + documented_by
    row = {
        "endpoint_key": key,
        "method": method,
        "host": host,
        "path": path,
        "url": _nonempty(named, "url"),
        "api_name": _nonempty(named, "api_name"),
        "tools": sorted({r["tool"] for r in every}),
        "instances": sorted({r["instance"] for r in every}),
        "in_gateway": bool(gateway),
        "in_spec": bool(spec),
        "in_traffic": bool(traffic),
        **_routing(own_gateway, own_spec, gateway),
        **_authentication(gateway, spec, traffic),
        **_seen_in_traffic(traffic),
        **_audit(spec),
        "products": sorted({p for r in gateway for p in r["products"]}),
        "last_modified": max((r["last_modified"] for r in gateway if r["last_modified"]), default=None),
        "tags": sorted({t for r in every for t in r["tags"]}),
        "owner": _nonempty(every, "owner"),
    }
    return MergedRow.of(row, strings)


def _routing(own_gateway: list[Row], spec: list[Row], gateway: list[Row]) -> dict[str, Any]:
    """How the endpoint is matched (a gateway's or spec's own entry decides), and where it is deployed."""
    return {
        "path_match": next(
            (r["path_match"] for r in own_gateway + spec if r["path_match"] != "exact"),
            "prefix" if any(r["method"] == ANY_METHOD for r in own_gateway + spec) else "exact",
        ),
        "gateway_status": ("deployed" if any(r["status"] == "deployed" for r in gateway) else "undeployed")
        if gateway
        else None,
        "environment": ", ".join(sorted({r["environment"] for r in gateway if r.get("environment")})) or None,
    }


def _authentication(gateway: list[Row], spec: list[Row], traffic: list[Row]) -> dict[str, Any]:
    """Traffic's word when it saw whether a request was authenticated, else the gateway's when it knows,
    else the spec's."""
    knowing = ([r for r in role if r["auth_required"] is not None] for role in (traffic, gateway, spec))
    auth_from = next((records for records in knowing if records), None) or gateway or spec or traffic
    return {
        "auth_required": auth_from[0]["auth_required"] if auth_from else None,
        "auth_types": sorted({t for r in auth_from for t in r["auth_types"]}),
        "auth_source": auth_from[0]["tool"] if auth_from else None,
    }


def _seen_in_traffic(traffic: list[Row]) -> dict[str, Any]:
    """What only traffic knows: sensitive data, risk, and when the endpoint was first and last used."""
    return {
        "sensitive_data": sorted({s for r in traffic for s in r["sensitive_data"]}),
        "risk_score": max((r["risk_score"] for r in traffic if r["risk_score"] is not None), default=None),
        "risk_level": _riskiest_level(traffic),
        "traffic_status": _nonempty(traffic, "status"),
        "first_seen": min((r["first_seen"] for r in traffic if r["first_seen"]), default=None),
        "last_seen": max((r["last_seen"] for r in traffic if r["last_seen"]), default=None),
    }


def _riskiest_level(traffic: list[Row]) -> Any:
    """The risk level named by the highest-scored traffic record that names one (the first of equals)."""
    level, top = None, 0
    for record in traffic:
        named, score = record.get("risk_level"), record["risk_score"] or 0
        if named not in (None, "", []) and (level is None or score > top):
            level, top = named, score
    return level


def _audit(spec: list[Row]) -> dict[str, Any]:
    """The first spec's audit: its score, issue counts by level, date and scan state; its collection."""
    audit = spec[0] if spec else None
    issues = (audit or {}).get("audit_issues") or {}
    return {
        "audit_score": audit["audit_score"] if audit else None,
        **{f"audit_{level}": issues.get(level) for level in AUDIT_LEVELS},
        "audit_date": audit["audit_date"] if audit else None,
        "scan_state": audit["scan_state"] if audit else None,
        "collection": _nonempty(spec, "collection"),
    }
