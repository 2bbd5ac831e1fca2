"""The Act first score and why a change matters: pure functions of the merged rows."""

from __future__ import annotations

from apiinv.analysis.findings import Finding
from apiinv.analysis.priority import act_first, why_change


def _row(key: str, **fields):
    return {
        "endpoint_key": key,
        "host": key.split()[1].split("/")[0],
        "risk_level": "low",
        "auth_required": True,
        "sensitive_data": [],
        "in_gateway": True,
        "tools": ["kong"],
        "owner": None,
        **fields,
    }


def test_an_open_endpoint_with_pci_outranks_a_pile_of_unaudited_ones() -> None:
    open_pci = _row(
        "GET api.acme.example/pay", risk_level="critical", auth_required=False, sensitive_data=["PCI"]
    )
    internal = _row("GET svc.internal/a", risk_level="critical")
    findings = {
        "unaudited": [Finding(_row(f"GET api.acme.example/u{i}"), "no audit: in no spec") for i in range(50)]
        + [Finding(internal, "no audit: in no spec"), Finding(open_pci, "no audit: in no spec")],
        "unauthenticated_sensitive": [Finding(open_pci, "no authentication; carries PCI")],
    }
    ranked = act_first(findings, top=3)
    assert [e["endpoint_key"] for e in ranked[:2]] == ["GET api.acme.example/pay", "GET svc.internal/a"]
    top = ranked[0]
    assert top["finding"] == "unauthenticated_sensitive" and top["sheet"] == "Unauthenticated sensitive"
    # no authentication, sensitive data, internet-facing: 1 + 3 x 0.5
    assert top["score"] == 5 * 4 * 2.5 and top["also_in"] == ["unaudited"]
    assert ranked[1]["exposure"] == [] and ranked[1]["score"] == 2 * 4 * 1


def test_a_change_says_why_it_matters_not_the_api_name() -> None:
    row = _row("GET api.acme.example/pay", risk_level="high", tools=["kong", "cequence"], api_name="payments")
    merged = {row["endpoint_key"]: row}
    key = row["endpoint_key"]
    removed = {"change": "removed", "tool": "kong", "endpoint_key": key, "api_name": "payments"}
    assert why_change(removed, merged, {row["endpoint_key"]: ["zombie"]}) == (
        "removed in kong; still seen by cequence; zombie; high risk"
    )
    new = {"change": "new", "tool": "kong", "endpoint_key": row["endpoint_key"], "api_name": "payments"}
    assert why_change(new, merged, {}) == "new in kong; internet-facing; high risk"
