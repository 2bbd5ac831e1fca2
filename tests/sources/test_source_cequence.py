from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.launch import Sandbox

pytestmark = pytest.mark.sandbox_tools("cequence")  # what the sandbox fixture runs


def test_pagination_and_fields_are_configuration(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox,
        "cequence",
        tmp_path,
        page_size=7,
        settings={
            "pagination": {"strategy": "offset", "items_key": "items", "size_param": "limit"},
            "fields": {"risk_score": "riskScore"},
        },
    )
    assert raw["counts"]["endpoints"] == sandbox.truth()["cequence"]["endpoints"]
    assert outcome.stats["pages"] >= raw["counts"]["endpoints"] // 7
    assert raw["data"]["fields"]["risk_score"] == "riskScore"


def test_risk_scores_are_on_the_documented_0_to_100_scale(sandbox, tmp_path: Path) -> None:
    from apiinv.sources.cequence import SOURCE

    outcome, raw = fetch(sandbox, "cequence", tmp_path)
    assert outcome.ok, outcome.summary()
    scores = [r["risk_score"] for r in SOURCE.normalize(raw) if r["risk_score"] is not None]
    assert scores and all(0 <= s <= 100 for s in scores)
    assert max(scores) > 10  # unauthenticated sensitive endpoints score high, not 2.0-10.0


def test_a_wrong_inventory_path_names_the_path(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(
        sandbox, "cequence", tmp_path, settings={"endpoints": {"inventory": "/apisec/api/v9/nope"}}
    )
    assert not outcome.ok and "/apisec/api/v9/nope answered 404" in str(outcome.error)


def test_tokens_that_expire_are_renewed(tmp_path: Path) -> None:
    # Tokens live 1 s; 18 pages of at least 0.06 s each make the listing outlive the first one.
    with Sandbox(size=40, seed=3, day=RUN_DATE, token_lifetime=1.0, latency=0.06) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        started = time.monotonic()
        outcome, raw = fetch(sandbox, "cequence", tmp_path, page_size=10)
        assert time.monotonic() - started > 1.0  # the listing did outlive a token
        assert outcome.ok, outcome.summary()
        assert raw["counts"]["endpoints"] == sandbox.truth()["cequence"]["endpoints"]
        assert sandbox.apps["cequence"].tokens.issued >= 2


def test_a_token_revoked_mid_run_is_fetched_again(sandbox, tmp_path: Path) -> None:
    sandbox.apps["cequence"].inject("expire_tokens", path="/endpoints")
    outcome, _ = fetch(sandbox, "cequence", tmp_path)
    assert outcome.ok and outcome.stats["auth_refreshes"] >= 1
    assert sandbox.apps["cequence"].tokens.issued >= 2


def test_refused_client_credentials_are_a_clear_failure(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(
        sandbox,
        "cequence",
        tmp_path,
        credentials={"client_id": sandbox.client_id, "client_secret": "wrong-secret-value"},
    )
    assert not outcome.ok
    assert "token endpoint refused the client credentials (401: invalid_client)" in str(outcome.error)


# ---------------------------------------------------------------------------------------------- normalize

RAW = {
    "tool": "cequence",
    "type": "cequence",
    "collected_at": "2026-11-23T02:00:00Z",
    "data": {
        "fields": {"host": "hostname", "risk_score": "score"},
        "endpoints": [
            {
                "id": "e1",
                "hostname": "API.ACME.EXAMPLE:443",
                "method": "get",
                "path": "/orders/v1/orders/48213",
                "active": True,
                "score": 8.5,
                "riskLevel": "HIGH",
                "sensitiveDataTypes": ["PII", "PCI"],
                "authenticated": False,
                "authType": None,
                "accessType": "EXTERNAL",
                "apiName": None,
                "firstSeen": "2026-01-02T03:04:05Z",
                "lastSeen": "2026-11-22T23:59:59.123Z",
            },
            {
                "id": "e2",
                "hostname": "api.acme.example",
                "method": "POST",
                "path": "/orders/v1/orders",
                "active": False,
                "score": None,
                "riskLevel": "weird",
                "sensitiveDataTypes": [],
                "authenticated": True,
                "authType": "OAUTH2",
                "firstSeen": "",
                "lastSeen": None,
            },
        ],
    },
}


def test_normalize_gives_one_record_per_traffic_endpoint() -> None:
    from apiinv.inventory.records import problems
    from apiinv.sources import cequence

    first, second = cequence.SOURCE.normalize(RAW)
    assert first["endpoint_key"] == "GET api.acme.example/orders/v1/orders/{}"
    assert first["url"] == "https://api.acme.example/orders/v1/orders/48213"
    assert (first["auth_required"], first["auth_types"], first["sensitive_data"]) == (
        False,
        [],
        ["PII", "PCI"],
    )
    assert (first["risk_score"], first["risk_level"], first["status"]) == (8.5, "high", "active")
    assert (first["first_seen"], first["last_seen"]) == ("2026-01-02T03:04:05Z", "2026-11-22T23:59:59Z")
    assert first["tags"] == ["access:external"]
    assert second["endpoint_key"] == "POST api.acme.example/orders/v1/orders"
    assert (second["auth_types"], second["status"], second["risk_level"]) == (["oauth2"], "inactive", None)
    assert second["first_seen"] is None
    assert problems(first) == problems(second) == []


def test_a_nested_list_valued_mapping_with_a_missing_optional_listing(tmp_path: Path) -> None:
    """A tenant whose API nests fields and lists auth types: dotted paths reach them, lists stay lists,
    a mapped field that never appears is a warning, and the optional hosts listing's 404 is one too."""
    from hostile_api import HostileServer

    from apiinv.config import ToolConfig
    from apiinv.pipeline.collect import collect_tool
    from apiinv.sources.cequence import SOURCE
    from apiinv.store import Store, read_json

    items = [
        {
            "id": "e1",
            "request": {"host": "api.x", "method": "get", "path": "/v1/cards/{id}"},
            "meta": {"auth": {"types": ["JWT", "API_KEY"]}, "seen": {"first": "2026-11-01T00:00:00Z"}},
            "sensitive": ["PCI", "PII"],
        },
        {"id": "e2", "request": {"host": "api.x", "method": "POST", "path": "/v1/cards"}, "meta": {}},
    ]
    with HostileServer() as server:
        server.route("/inventory", lambda h: h.send_json({"items": items, "total": 2}))
        tool = ToolConfig(
            name="traffic",
            type="cequence",
            base_url=server.url,
            auth_type="none",
            settings={
                "endpoints": {"inventory": "/inventory", "hosts": "/hosts"},
                "fields": {
                    "host": "request.host",
                    "method": "request.method",
                    "path": "request.path",
                    "auth_type": "meta.auth.types",
                    "sensitive_data": "sensitive",
                    "first_seen": "meta.seen.first",
                    "risk_score": "scores.risk",
                },
            },
        )
        store = Store(tmp_path)
        outcome = collect_tool(tool, store.at(RUN_DATE), use_cache=False)
    assert outcome.ok, outcome.summary()
    warnings = store.step(RUN_DATE, "traffic", "collect")["warnings"]
    assert any(w.startswith("optional listing hosts (/hosts) failed") for w in warnings)
    assert any(
        w.startswith("fields.risk_score: 'scores.risk' is in none of the 2 endpoints") for w in warnings
    )
    assert not any("fields.auth_type" in w for w in warnings)
    records = {r["api_id"]: r for r in SOURCE.normalize(read_json(store.raw_path(RUN_DATE, "traffic")))}
    first = records["e1"]
    assert first["endpoint_key"] == "GET api.x/v1/cards/{}"
    assert (first["auth_types"], first["sensitive_data"]) == (["api_key", "jwt"], ["PCI", "PII"])
    assert first["first_seen"] == "2026-11-01T00:00:00Z"
    assert (records["e2"]["auth_types"], records["e2"]["sensitive_data"]) == ([], [])


def test_the_inventory_listing_itself_is_not_optional(tmp_path: Path) -> None:
    from hostile_api import HostileServer

    from apiinv.config import ToolConfig
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store

    with HostileServer() as server:
        server.route("/inventory", lambda h: h.send_json({"count": 3}))  # 200, but no items at all
        tool = ToolConfig(
            name="traffic",
            type="cequence",
            base_url=server.url,
            auth_type="none",
            settings={"endpoints": {"inventory": "/inventory", "hosts": None}},
        )
        outcome = collect_tool(tool, Store(tmp_path).at(RUN_DATE), use_cache=False)
    assert not outcome.ok and outcome.error.code == "MALFORMED_RESPONSE"
    assert "expected a list at items, got nothing" in outcome.error.message
