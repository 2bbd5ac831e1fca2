"""A spec alone keeps traffic out of the shadow finding: an endpoint in traffic that only a spec knows,
by its own key or through the spec's base path, is not shadow; the spec records come from real
OpenAPI documents through the openapi_specs source, as a run reads them."""

from __future__ import annotations

from datetime import UTC, datetime

from apiinv import registry
from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.config import Analysis
from apiinv.inventory.records import make_record

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def spec_records(*documents: dict) -> list[dict]:
    raw = {"tool": "specs", "collected_at": "2026-11-23T02:00:00Z", "data": {"documents": list(documents)}}
    return list(registry.load("openapi_specs").normalize(raw))


def document(server_url: str, *paths: str) -> dict:
    return {
        "file": "api.yaml",
        "openapi": "3.0.3",
        "info": {"title": "Payments", "version": "1"},
        "servers": [{"url": server_url}],
        "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}} for path in paths},
    }


def seen(host: str, path: str) -> dict:
    return make_record(
        tool="cequence",
        instance="cequence",
        collected_at="2026-11-23T02:00:00Z",
        api_id="t",
        api_name=None,
        host=host,
        base_path="",
        method="GET",
        path=path,
        status="active",
        last_seen="2026-11-22T10:00:00Z",
    )


ROLES = {"specs": "spec", "cequence": "traffic"}


def shadow(records: list[dict]) -> list[str]:
    merged = merge(records, roles=ROLES)
    findings = find(merged, records, Analysis(), now=NOW, roles=ROLES)
    return sorted(r["endpoint_key"] for r in findings["shadow"])


def test_traffic_that_only_a_spec_knows_is_not_shadow() -> None:
    records = [
        *spec_records(document("https://pay.acme.example", "/orders/{orderId}")),
        seen("pay.acme.example", "/orders/77"),
        seen("pay.acme.example", "/debug/vars"),
    ]
    assert shadow(records) == ["GET pay.acme.example/debug/vars"]


def test_a_spec_servers_base_path_is_part_of_what_it_documents() -> None:
    records = [
        *spec_records(document("https://pay.acme.example/v2", "/orders/{orderId}")),
        seen("pay.acme.example", "/v2/orders/77"),
        seen("pay.acme.example", "/orders/77"),  # the same path without the base path is another endpoint
    ]
    assert shadow(records) == ["GET pay.acme.example/orders/{}"]


def test_a_spec_with_a_relative_server_documents_its_base_path_on_every_host() -> None:
    records = [
        *spec_records(document("/v3", "/refunds/{id}")),
        seen("pay.acme.example", "/v3/refunds/5"),
        seen("eu.pay.acme.example", "/v3/refunds/6"),
        seen("pay.acme.example", "/v4/refunds/5"),
    ]
    assert shadow(records) == ["GET pay.acme.example/v4/refunds/{}"]
