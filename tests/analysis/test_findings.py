"""Merge and findings on a crafted estate in which every finding occurs once (and nothing else does)."""

from __future__ import annotations

from datetime import UTC, datetime

from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.config import Analysis
from apiinv.inventory.records import make_record

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
# Each tool named after its vendor, with the role its source declares (the configuration says so).
ROLES = {"kong": "gateway", "apigee": "gateway", "42crunch": "spec", "cequence": "traffic"}
RECENT, OLD, ANCIENT = "2026-11-22T10:00:00Z", "2026-09-20T10:00:00Z", "2026-03-01T10:00:00Z"


def gateway(tool, host, path, *, status="deployed", method="GET", match="exact", auth=True):
    return make_record(
        tool=tool,
        instance=tool,
        collected_at=RECENT,
        api_id="g",
        api_name=f"gw {path}",
        host=host,
        base_path="",
        method=method,
        path=path,
        status=status,
        path_match=match,
        auth_required=auth,
        auth_types=["api_key"] if auth else [],
    )


def spec(host, path, *, score=90.0, audited=RECENT):
    return make_record(
        tool="42crunch",
        instance="42crunch",
        collected_at=RECENT,
        api_id="s",
        api_name="spec",
        host=host,
        base_path="",
        method="GET",
        path=path,
        status="documented",
        auth_required=True,
        auth_types=["api_key"],
        audit_score=score,
        audit_date=audited,
        audit_issues={"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
    )


def traffic(host, path, *, auth=True, sensitive=(), seen=RECENT, risk=3.0):
    return make_record(
        tool="cequence",
        instance="cequence",
        collected_at=RECENT,
        api_id="t",
        api_name=None,
        host=host,
        base_path="",
        method="GET",
        path=path,
        status="active",
        auth_required=auth,
        auth_types=["api_key"] if auth else [],
        sensitive_data=list(sensitive),
        risk_score=risk,
        risk_level="high" if risk >= 7 else "low",
        last_seen=seen,
        first_seen=ANCIENT,
    )


RECORDS = [
    # known everywhere, fine
    gateway("apigee", "api.x", "/pay/v1/orders/{id}"),
    spec("api.x", "/pay/v1/orders/{orderId}"),
    traffic("API.X:443", "/pay/v1/orders/123", sensitive=["PII"]),
    # shadow: traffic only
    traffic("shadow.x", "/internal/debug"),
    # served by a Kong prefix route: not shadow; audited by a spec under the same prefix? no: unaudited
    gateway("kong", "edge.x", "/kong/v1", method="*", match="prefix"),
    traffic("edge.x", "/kong/v1/things/9"),
    # old audit, low grade
    gateway("apigee", "api.x", "/aged/v1/report"),
    spec("api.x", "/aged/v1/report", audited=ANCIENT),
    traffic("api.x", "/aged/v1/report"),
    gateway("apigee", "api.x", "/weak/v1/report"),
    spec("api.x", "/weak/v1/report", score=40),
    traffic("api.x", "/weak/v1/report"),
    # unauthenticated with sensitive data: the gateway claims auth, traffic shows none
    gateway("apigee", "api.x", "/cards/v1/cards/{id}"),
    spec("api.x", "/cards/v1/cards/{id}"),
    traffic("api.x", "/cards/v1/cards/4411", auth=False, sensitive=["PCI"], risk=9.1),
    # orphans: deployed, never or long not seen
    gateway("apigee", "api.x", "/old/v1/thing"),
    spec("api.x", "/old/v1/thing"),
    gateway("kong", "edge.x", "/quiet/v1/thing"),
    spec("edge.x", "/quiet/v1/thing"),
    traffic("edge.x", "/quiet/v1/thing", seen=OLD),
    # zombie: undeployed (no host known), still in traffic
    gateway("apigee", "", "/legacy/v1/items", status="undeployed"),
    spec("api.x", "/legacy/v1/items"),
    traffic("api.x", "/legacy/v1/items", seen=RECENT),
    # another zombie, with no spec: known to the gateway by its path alone, so not shadow
    gateway("apigee", "", "/retired/v1/things", status="undeployed"),
    traffic("api.x", "/retired/v1/things"),
]


def run():
    merged = merge(RECORDS, roles=ROLES)
    return merged, find(
        merged,
        RECORDS,
        Analysis(audit_max_age_days=90, min_audit_grade=70, orphan_after_days=30, zombie_within_days=30),
        now=NOW,
        roles=ROLES,
    )


def keys(rows):
    return sorted(r["endpoint_key"] for r in rows)


def test_merge_collapses_spellings_and_names_each_source() -> None:
    merged, _ = run()
    row = next(r for r in merged if r["endpoint_key"] == "GET api.x/pay/v1/orders/{}")
    assert row["tools"] == ["42crunch", "apigee", "cequence"]
    assert (row["in_gateway"], row["in_spec"], row["in_traffic"]) == (True, True, True)
    assert (row["gateway_status"], row["audit_score"], row["audit_high"]) == ("deployed", 90.0, 1)
    assert (row["sensitive_data"], row["risk_level"], row["auth_source"]) == (["PII"], "low", "cequence")
    assert row["api_name"] == "gw /pay/v1/orders/{id}" and row["url"] == "https://api.x/pay/v1/orders/{id}"
    # Three gateway rows stand for endpoints that have rows of their own: the any-method Kong route
    # and the two host-less (undeployed) Apigee proxies.
    absorbed = {"* edge.x/kong/v1", "GET /legacy/v1/items", "GET /retired/v1/things"}
    assert {r["endpoint_key"] for r in merged} == {r["endpoint_key"] for r in RECORDS} - absorbed
    routed = next(r for r in merged if r["endpoint_key"] == "GET edge.x/kong/v1/things/{}")
    assert (
        routed["tools"] == ["cequence", "kong"]
        and routed["in_gateway"]
        and routed["gateway_status"] == "deployed"
    )


def test_every_finding_class_finds_exactly_its_endpoints() -> None:
    _, findings = run()
    assert keys(findings["shadow"]) == ["GET shadow.x/internal/debug"]
    assert keys(findings["unauthenticated_sensitive"]) == ["GET api.x/cards/v1/cards/{}"]
    assert keys(findings["orphan"]) == ["GET api.x/old/v1/thing", "GET edge.x/quiet/v1/thing"]
    assert keys(findings["zombie"]) == ["GET api.x/legacy/v1/items", "GET api.x/retired/v1/things"]
    unaudited = {r["endpoint_key"]: r["reason"] for r in findings["unaudited"]}
    assert unaudited == {
        "GET edge.x/kong/v1/things/{}": "no audit: in no spec",
        "GET shadow.x/internal/debug": "no audit: in no spec",
        "GET api.x/aged/v1/report": "audit older than 90 days (2026-03-01)",
        "GET api.x/weak/v1/report": "audit grade 40 under 70",
        "GET api.x/retired/v1/things": "no audit: in no spec",
    }
    orphan = {r["endpoint_key"]: r["reason"] for r in findings["orphan"]}
    assert orphan["GET edge.x/quiet/v1/thing"] == "deployed; no traffic since 2026-09-20"


def test_thresholds_are_configuration() -> None:
    merged = merge(RECORDS, roles=ROLES)
    lenient = find(
        merged,
        RECORDS,
        Analysis(audit_max_age_days=365, min_audit_grade=30, orphan_after_days=90),
        now=NOW,
        roles=ROLES,
    )
    reasons = {r["endpoint_key"] for r in lenient["unaudited"]}
    assert "GET api.x/aged/v1/report" not in reasons and "GET api.x/weak/v1/report" not in reasons
    assert keys(lenient["orphan"]) == ["GET api.x/old/v1/thing"]


def test_without_traffic_collected_nothing_is_an_orphan() -> None:
    without = [r for r in RECORDS if r["tool"] != "cequence"]
    merged = merge(without, roles=ROLES)
    assert find(merged, without, Analysis(), now=NOW, roles=ROLES)["orphan"] == []


def test_a_finding_reads_as_its_merged_row_with_a_reason_and_copies_nothing() -> None:
    merged = merge(RECORDS, roles=ROLES)
    found = find(merged, RECORDS, Analysis(), now=NOW, roles=ROLES)
    row = next(r for rows in found.values() for r in rows)
    original = next(m for m in merged if m["endpoint_key"] == row["endpoint_key"])
    assert dict(row) == {**original, "reason": row["reason"]} and row["reason"]
    assert row.row is original  # the merged row itself, not a copy
    assert row.get("reason") == row["reason"] and row.get("host") == original["host"]
    assert row.get("nope") is None and row.get("nope", 0) == 0
