"""What a gateway serves, by its own router's rules, and how per-method endpoints are attributed to it."""

from __future__ import annotations

from functools import partial

import pytest

from apiinv import registry
from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.analysis.routers import ROUTERS, router_of
from apiinv.config import Analysis
from apiinv.inventory.keys import endpoint_key
from apiinv.inventory.records import make_record
from apiinv.sources import kong
from tests.analysis import routing
from tests.analysis.routing import NOW, SEEN, assert_each_row_cites_a_source, table

# Each tool named after its vendor, with the role its source declares (the configuration says so).
# Traffic on the Kong routes' host unless a test names another.
traffic = partial(routing.traffic, host="edge.x")
ROLES = {"kong": "gateway", "apigee": "gateway", "42crunch": "spec", "cequence": "traffic"}


def kong_route(paths, methods=None, hosts=("edge.x",), *, strip_path=True, auth=None):
    """Kong's own documents, through Kong's normalizer: a route, its service, optional auth plugin."""
    raw = {
        "tool": "kong",
        "collected_at": SEEN,
        "data": {
            "workspaces": {
                "default": {
                    "services": [{"id": "s1", "name": "orders", "enabled": True}],
                    "routes": [
                        {
                            "id": "r1",
                            "name": "r",
                            "paths": list(paths),
                            "methods": methods,
                            "hosts": list(hosts),
                            "strip_path": strip_path,
                            "service": {"id": "s1"},
                            "protocols": ["https"],
                        }
                    ],
                    "plugins": [{"id": "p1", "name": auth, "enabled": True, "route": {"id": "r1"}}]
                    if auth
                    else [],
                }
            }
        },
    }
    return list(kong.normalize(raw))


def spec(path, method="GET", host="edge.x", score=90.0):
    return make_record(
        tool="42crunch",
        instance="42crunch",
        collected_at=SEEN,
        api_id="s",
        api_name="spec",
        host=host,
        base_path="",
        method=method,
        path=path,
        status="documented",
        audit_score=score,
        audit_date=SEEN,
    )


def apigee_base_path(base_path, host="api.x", status="deployed"):
    return make_record(
        tool="apigee",
        instance="apigee",
        collected_at=SEEN,
        api_id="p",
        api_name="proxy",
        host=host,
        base_path=base_path,
        method="*",
        path="",
        status=status,
        path_match="prefix",
        auth_required=True,
        auth_types=["api_key"],
    )


def rows(records):
    return {r["endpoint_key"]: r for r in merge(records, roles=ROLES)}


def shadows(records):
    found = find(merge(records, roles=ROLES), records, Analysis(), now=NOW, roles=ROLES)
    return sorted(r["endpoint_key"] for r in found["shadow"])


@pytest.mark.parametrize(
    "route_path, request_path, served",
    [
        ("/v1/orders", "/v1/orders", True),
        ("/v1/orders", "/v1/orders/42/items", True),  # a plain path is a prefix
        ("/v1/orders", "/v2/orders", False),
        ("~/v1/users/(?<id>\\d+)$", "/v1/users/{}", True),  # anchored: exactly
        ("~/v1/users/(?<id>\\d+)$", "/v1/users/{}/tokens", False),  # ... so nothing below it
        ("~/v1/users/(?<id>\\d+)", "/v1/users/{}/tokens", True),  # unanchored: from the start
        ("~/v1/users/(?<id>\\d+)", "/v2/v1/users/{}", False),  # ... but only from the start
        ("~/v1/(users|accounts)/[a-z]+$", "/v1/accounts/{}", True),
        ("~/v1/(users|accounts)/[a-z]+$", "/v1/orders/{}", False),
    ],
)
def test_kong_routes_serve_what_kongs_router_matches(route_path, request_path, served) -> None:
    records = [*kong_route([route_path], methods=["GET"]), traffic(request_path)]
    key = endpoint_key("GET", "edge.x", "", request_path)
    assert rows(records)[key]["in_gateway"] is served
    assert (key in shadows(records)) is not served


KONG_TABLE = table("kong")


@pytest.mark.parametrize(
    "row", KONG_TABLE["rows"], ids=[f"{r['source']}-{i}" for i, r in enumerate(KONG_TABLE["rows"])]
)
def test_kong_conformance_row_through_the_merge(row) -> None:
    """Each row of Kong's own cases: a route and a request seen in traffic, merged as the pipeline
    merges them; the report attributes the endpoint to the gateway exactly when Kong would serve it."""
    route = row["route"]
    method, host, path = row["request"]
    records = [
        *kong_route(route.get("paths", []), methods=route.get("methods"), hosts=route.get("hosts", [])),
        traffic(path, method=method, host=host),
    ]
    key = endpoint_key(method, host, "", path)
    assert rows(records)[key]["in_gateway"] is row["serves"], row
    assert (key in shadows(records)) is not row["serves"], row


def test_kong_table_is_drawn_from_kongs_sources() -> None:
    """The table's data, not the code: enough rows, each citing a named source and a place in it."""
    assert_each_row_cites_a_source(KONG_TABLE, at_least=60)


@pytest.mark.parametrize("route_path", ["~/\\p{Greek}+", "~/[a-z&&[^x]]", "~/(?U)a+", "~/a\\x{zz"])
def test_a_route_regex_that_cannot_be_evaluated_is_a_warning_not_a_silent_miss(caplog, route_path) -> None:
    records = [*kong_route([route_path], methods=["GET"]), traffic("/abc")]
    with caplog.at_level("WARNING"):
        assert not rows(records)["GET edge.x/abc"]["in_gateway"]
    assert f"kong: route path {route_path} cannot be evaluated" in caplog.text


@pytest.mark.parametrize("route_host", ["edge.x", "*.x"])
def test_a_route_is_not_an_orphan_while_traffic_reaches_it_by_string_prefix(route_host) -> None:
    """Findings ask the same router: /my-route serves /my-route-uri (08-router_spec.lua:458), and
    *.x serves edge.x (08-router_spec.lua:1208)."""
    records = [*kong_route(["/my-route"], methods=["GET"], hosts=[route_host]), traffic("/my-route-uri")]
    found = find(merge(records, roles=ROLES), records, Analysis(), now=NOW, roles=ROLES)
    assert [r["endpoint_key"] for r in found["orphan"]] == []
    assert rows(records)["GET edge.x/my-route-uri"]["in_gateway"]


def test_strip_path_does_not_change_what_the_gateway_serves() -> None:
    for strip in (True, False):
        records = [*kong_route(["/v1/orders"], methods=["GET"], strip_path=strip), traffic("/v1/orders/9")]
        assert rows(records)["GET edge.x/v1/orders/{}"]["in_gateway"]


def test_an_any_method_route_is_attributed_per_method_and_leaves_no_star_row() -> None:
    records = [
        *kong_route(["/v1/orders"], methods=None, auth="key-auth"),
        traffic("/v1/orders/{id}", "GET"),
        traffic("/v1/orders", "POST"),
    ]
    merged = rows(records)
    assert set(merged) == {"GET edge.x/v1/orders/{}", "POST edge.x/v1/orders"}
    for row in merged.values():
        assert row["tools"] == ["cequence", "kong"] and row["in_gateway"]
        assert (row["gateway_status"], row["auth_types"], row["auth_source"]) == (
            "deployed",
            ["api_key"],
            "kong",
        )


def test_an_any_method_route_with_nothing_known_below_it_stays_one_row() -> None:
    merged = rows(kong_route(["/v1/orders"], methods=None))
    assert list(merged) == ["* edge.x/v1/orders"]


def test_an_apigee_base_path_serves_everything_below_it_on_its_hosts() -> None:
    records = [
        apigee_base_path("/pay/v1"),
        traffic("/pay/v1/cards/1", host="api.x"),
        traffic("/pay/v1", host="b.x"),
    ]
    merged = rows(records)
    assert merged["GET api.x/pay/v1/cards/{}"]["in_gateway"]
    assert not merged["GET b.x/pay/v1"]["in_gateway"]  # another host
    assert "* api.x/pay/v1" not in merged


def test_audit_coverage_is_judged_per_method() -> None:
    records = [
        *kong_route(["/v1/orders"], methods=None),
        spec("/v1/orders", "GET"),
        traffic("/v1/orders", "GET"),
        traffic("/v1/orders", "DELETE"),
    ]
    found = find(merge(records, roles=ROLES), records, Analysis(), now=NOW, roles=ROLES)
    unaudited = {r["endpoint_key"]: r["reason"] for r in found["unaudited"]}
    assert unaudited == {"DELETE edge.x/v1/orders": "no audit: in no spec"}


def test_paths_with_any_characters_keep_their_identity() -> None:
    odd = ["/v1/a b", "/v1/x|y", "/v1/'quoted'", '/v1/"dq"']
    merged = rows([traffic(path) for path in odd])
    assert sorted(r["path"] for r in merged.values()) == sorted(odd)


def test_each_gateway_family_is_named_as_its_source_names_the_records_it_writes() -> None:
    """A family keyed by a tool name no source writes would leave that gateway's entries to the
    generic OpenAPI rules without a word."""
    assert set(ROUTERS) <= set(registry.known_types())
    assert all(router_of({"tool": tool}) is module for tool, module in ROUTERS.items())


def regex_row(pattern: str, host: str = "edge.x", base_path: str = "") -> dict:
    """A declarative gateway's regex row (a rest tool's path_match regex), any method."""
    return make_record(
        tool="tyk",
        instance="tyk",
        collected_at=SEEN,
        api_id=pattern,
        api_name="users",
        host=host,
        base_path=base_path,
        method="*",
        path=pattern,
        status="deployed",
        path_match="regex",
    )


def test_a_rest_gateways_regex_row_serves_what_its_expression_matches_from_the_start() -> None:
    roles = {**ROLES, "tyk": "gateway"}
    records = [
        regex_row("/users/[0-9]+$"),
        traffic("/users/42"),
        traffic("/users/abc"),
        traffic("/v2/users/42"),
    ]
    merged = {r["endpoint_key"]: r for r in merge(records, roles=roles)}
    assert merged["GET edge.x/users/{}"]["tools"] == ["cequence", "tyk"]
    assert not merged["GET edge.x/users/abc"]["in_gateway"]
    assert not merged["GET edge.x/v2/users/{}"]["in_gateway"]  # from the start of the path only
    found = find(list(merged.values()), records, Analysis(), now=NOW, roles=roles)
    assert "GET edge.x/users/{}" not in [r["endpoint_key"] for r in found["shadow"]]
    assert not [r for r in found["orphan"] if r["tools"] == ["tyk"]]  # traffic reaches it


def test_a_rest_gateways_regex_row_that_cannot_be_evaluated_is_a_warning(caplog) -> None:
    records = [regex_row("/users/\\p{Greek}+"), traffic("/users/abc")]
    with caplog.at_level("WARNING"):
        merged = merge(records, roles={**ROLES, "tyk": "gateway"})
    assert not next(r for r in merged if r["endpoint_key"] == "GET edge.x/users/abc")["in_gateway"]
    assert "tyk: route path ~/users/\\p{Greek}+ cannot be evaluated" in caplog.text


@pytest.mark.parametrize("pattern", ["^/users/[0-9]+$", "users/[0-9]+$", "/users/[0-9]+$"])
def test_a_regex_row_under_a_base_path_serves_what_its_expression_matches_below_it(pattern) -> None:
    """The base path is joined as the record's key joins it (one slash, a leading ^ of the expression
    anchoring it below the base), and is matched as text: its dot is no wildcard."""
    roles = {**ROLES, "tyk": "gateway"}
    records = [
        regex_row(pattern, base_path="/v1.0/"),
        traffic("/v1.0/users/42"),
        traffic("/v1x0/users/42"),
        traffic("/v1.0users/42"),
    ]
    merged = {r["endpoint_key"]: r for r in merge(records, roles=roles)}
    assert merged["GET edge.x/v1.0/users/{}"]["in_gateway"]
    assert not merged["GET edge.x/v1x0/users/{}"]["in_gateway"]
    assert not merged["GET edge.x/v1.0users/{}"]["in_gateway"]


@pytest.mark.parametrize("pattern", ["^/users/[0-9]+$", "users/[0-9]+$", "/users/[0-9]+$"])
def test_a_regex_row_without_a_base_path_starts_at_the_paths_first_slash(pattern) -> None:
    records = [regex_row(pattern), traffic("/users/42"), traffic("/v2/users/42")]
    merged = {r["endpoint_key"]: r for r in merge(records, roles={**ROLES, "tyk": "gateway"})}
    assert merged["GET edge.x/users/{}"]["in_gateway"]
    assert not merged["GET edge.x/v2/users/{}"]["in_gateway"]


def test_the_risk_level_is_that_of_the_highest_scored_traffic_record_naming_one() -> None:
    """Traffic from two tools on one endpoint: the higher score's level, the first of equal scores."""
    records = [
        traffic("/v1/a", risk_score=3.0, risk_level="low"),
        {**traffic("/v1/a", risk_score=9.0, risk_level=None), "instance": "other"},
        {**traffic("/v1/a", risk_score=7.0, risk_level="high"), "instance": "rest"},
        {**traffic("/v1/a", risk_score=7.0, risk_level="medium"), "instance": "akto"},
    ]
    roles = {"cequence": "traffic", "other": "traffic", "rest": "traffic", "akto": "traffic"}
    (row,) = merge(records, roles=roles)
    assert (row["risk_level"], row["risk_score"]) == ("high", 9.0)


def test_rows_store_equal_lists_and_texts_once() -> None:
    """A large estate's merged rows repeat the same tools, auth types and tags: 4,500 distinct lists
    among 355,000 at 10,000 APIs; each held once, the rows take half the memory."""
    records = [spec(f"/orders{n}") for n in range(50)] + [traffic(f"/orders{n}") for n in range(50)]
    rows = merge(records, roles=ROLES)
    assert len(rows) == 50 and rows[0]["tools"] == ["42crunch", "cequence"]
    assert len({id(row["tools"]) for row in rows}) == 1
    assert len({id(row["host"]) for row in rows}) == 1
