"""A spec operation serves the requests its path template fills, as the OpenAPI Specification says
(apiinv/analysis/routers/openapi.py), and the report attributes that traffic to the spec the way it
attributes traffic to the gateway route that serves it."""

from __future__ import annotations

import pytest

from apiinv import registry
from apiinv.analysis.merge import merge
from apiinv.analysis.routers import openapi
from apiinv.inventory.keys import endpoint_key
from apiinv.inventory.records import make_record
from tests.analysis.routing import SEEN, assert_each_row_cites_a_source, report, table, traffic

ROLES = {"specs": "spec", "42crunch": "spec", "cequence": "traffic", "apigee": "gateway"}
TABLE = table("openapi")


def document(*paths: str, base: str = "", methods=("get",), security=None) -> dict:
    """An OpenAPI document with one operation per path and method, each tagged with its own template."""
    return {
        "file": "api.yaml",
        "openapi": "3.0.3",
        "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": f"https://api.x{base}"}],
        **({"security": security, "components": _schemes()} if security else {}),
        "paths": {
            path: {m: {"tags": [path], "responses": {"200": {"description": "ok"}}} for m in methods}
            for path in paths
        },
    }


def _schemes() -> dict:
    return {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}}


def spec_records(*documents: dict) -> list[dict]:
    raw = {"tool": "specs", "collected_at": SEEN, "data": {"documents": list(documents)}}
    return list(registry.load("openapi_specs").normalize(raw))


def audited_spec(path: str, score: float = 91.0, host: str = "api.x") -> dict:
    """A 42Crunch-style spec operation with its audit."""
    return make_record(
        tool="42crunch",
        instance="42crunch",
        collected_at=SEEN,
        api_id="s",
        api_name="pets",
        host=host,
        base_path="",
        method="GET",
        path=path,
        status="documented",
        audit_score=score,
        audit_date=SEEN,
        auth_required=True,
        auth_types=["api_key"],
    )


@pytest.mark.parametrize(
    "row", TABLE["rows"], ids=[f"{i}-{r['request'][1]}" for i, r in enumerate(TABLE["rows"])]
)
def test_openapi_conformance_row_through_the_merge(row) -> None:
    """Each row: a document's operations and a request seen in traffic, merged as the pipeline merges
    them; the traffic's row names exactly the operation that serves it, else it is a shadow API."""
    method, path = row["request"]
    records = [*spec_records(document(*row["paths"], base=row.get("base", ""))), traffic(path, method)]
    rows, findings = report(records, ROLES)
    key = endpoint_key(method, "api.x", "", path)
    expected = row["served_by"]
    assert rows[key]["in_spec"] is (expected is not None), row
    assert rows[key]["tags"] == ([expected] if expected else []), row
    assert (key in findings["shadow"]) is (expected is None), row


def test_openapi_table_cites_the_specification() -> None:
    assert_each_row_cites_a_source(TABLE, at_least=20)


def test_traffic_on_a_template_takes_the_specs_audit_and_auth_and_is_no_finding() -> None:
    """GET /pets/cat is served by GET /pets/{petId}: in the spec, audited, authenticated per the spec;
    neither it nor the template's own row is a finding (not shadow, not unaudited, not orphan)."""
    records = [
        make_record(  # an Apigee base path serving both, deployed
            tool="apigee",
            instance="apigee",
            collected_at=SEEN,
            api_id="p",
            api_name="pets",
            host="api.x",
            base_path="/pets",
            method="*",
            path="",
            status="deployed",
            path_match="prefix",
        ),
        audited_spec("/pets/{petId}"),
        traffic("/pets/cat"),
    ]
    rows, findings = report(records, ROLES)
    row = rows["GET api.x/pets/cat"]
    assert (row["in_spec"], row["in_gateway"], row["audit_score"], row["audit_date"]) == (
        True,
        True,
        91.0,
        SEEN,
    )
    assert (row["auth_required"], row["auth_types"], row["auth_source"]) == (True, ["api_key"], "42crunch")
    assert "42crunch" in row["tools"]
    assert {name: keys for name, keys in findings.items() if keys} == {}


def test_traffic_that_knows_its_authentication_keeps_it() -> None:
    records = [audited_spec("/pets/{petId}"), traffic("/pets/cat", auth_required=False)]
    row = report(records, ROLES)[0]["GET api.x/pets/cat"]
    assert (row["auth_required"], row["auth_source"], row["in_spec"]) == (False, "cequence", True)


def test_a_concrete_operation_takes_its_traffic_from_the_template() -> None:
    """/pets/mine before /pets/{petId}: the concrete operation's audit, not the template's."""
    records = [audited_spec("/pets/mine", score=40.0), audited_spec("/pets/{petId}", score=95.0)]
    rows, findings = report([*records, traffic("/pets/mine"), traffic("/pets/dog")], ROLES)
    assert rows["GET api.x/pets/mine"]["audit_score"] == 40.0
    assert rows["GET api.x/pets/dog"]["audit_score"] == 95.0
    assert findings["unaudited"] == ["GET api.x/pets/mine"]


def test_a_host_less_operation_documents_its_path_on_every_host() -> None:
    records = [audited_spec("/pets/{petId}", host=""), traffic("/pets/cat", host="eu.api.x")]
    rows, findings = report(records, ROLES)
    assert rows["GET eu.api.x/pets/cat"]["in_spec"] and findings["shadow"] == []


def kong_route(path: str) -> list[dict]:
    """One Kong route (GET, host api.x), through Kong's normalizer."""
    route = {"id": "r1", "name": "r", "paths": [path], "methods": ["GET"], "hosts": ["api.x"]}
    workspace = {
        "services": [{"id": "s1", "name": "pets", "enabled": True}],
        "routes": [{**route, "service": {"id": "s1"}, "protocols": ["https"]}],
        "plugins": [],
    }
    raw = {"tool": "kong", "collected_at": SEEN, "data": {"workspaces": {"default": workspace}}}
    return list(registry.load("kong").normalize(raw))


@pytest.mark.parametrize(
    "route_path, template, served",
    [
        ("~/users/\\d{3}$", "/users/{id}", True),  # some value of {id} is three digits
        ("/users/42", "/users/{id}", True),  # "42" is a value of {id}: a plain path is a string prefix
        ("/users/42/avatar", "/users/{id}", False),  # no single segment value reaches below /users/42/
        ("~/users/\\d+$", "/users/{id}/files", False),  # anchored: nothing below one segment
        ("~/files/[a-z]+\\.json$", "/files/{name}.xml", False),
        ("~/api/(?i)USERS/[0-9a-f]{8}$", "/api/users/{id}", True),  # an inline flag mid-pattern
    ],
)
def test_a_kong_route_serves_a_template_when_it_serves_some_value_of_it(route_path, template, served) -> None:
    """Kong routes are tried on a spec's template exactly: served when some value of each parameter
    (any non-empty run without "/") makes a path the route serves, not by trying sample values."""
    roles = {**ROLES, "kong": "gateway"}
    records = [*kong_route(route_path), *spec_records(document(template))]
    merged = {r["endpoint_key"]: r for r in merge(records, roles=roles)}
    assert merged[endpoint_key("GET", "api.x", "", template)]["in_gateway"] is served


@pytest.mark.parametrize(
    ("template", "path", "served"),
    [
        ("/Calls/{Sid}.json", "/Calls/CA01.json", True),
        ("/Calls/{Sid}.json", "/Calls/.json", False),  # a value is never empty
        ("/p/{a}{b}", "/p/x", False),  # two values in one segment take a character each
        ("/p/{a}{b}", "/p/xy", True),
        ("/p/{id}", "/p/x/y", False),  # a value holds no slash
        ("/p/{id}", "/p/", False),
        ("/p/{id}/", "/p/x/", True),
        ("/p/{id}", "/p/a\nb", True),
    ],
)
def test_a_template_serves_a_path_segment_by_segment(template: str, path: str, served: bool) -> None:
    assert openapi.serves(template, path) is served


@pytest.mark.parametrize(
    ("base_path", "path", "served"),
    [
        ("/v1/{}", "/v1/x", True),
        ("/v1/{}/", "/v1/x/orders", True),
        ("/v1/{}", "/v1/", False),
        ("/v1/{}", "/v1", False),
        ("/v1", "/v1x", False),  # on segment boundaries
        ("/v1/", "/v1/a/b", True),
        ("//", "/anything", True),
    ],
)
def test_a_base_path_serves_itself_and_what_is_below_it(base_path: str, path: str, served: bool) -> None:
    assert openapi.serves_below(base_path, path) is served
