"""What AWS API Gateway serves, by its own routing rules, judged from the merged report."""

from __future__ import annotations

import pytest

from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.config import Analysis
from apiinv.inventory.keys import endpoint_key
from apiinv.sources import aws_apigateway
from tests.analysis.routing import NOW, SEEN, report, table, traffic

ROLES = {"aws": "gateway", "cequence": "traffic"}
DOMAIN = "api.example.com"
TABLE = table("aws")
# Each route of a table gets its own authorization, so the report's auth types say which one served.
REST_AUTH = [
    (kind, key) for key in (False, True) for kind in ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS")
]
HTTP_AUTH = [(kind, key) for key in (False, True) for kind in ("NONE", "AWS_IAM", "CUSTOM", "JWT")]


def aws_records(kind: str, apis: dict[str, list[str]]) -> tuple[list[dict], dict[str, list[str]]]:
    """API Gateway's own answers for the APIs of a table, all on one custom domain, through the
    normalizer; and the auth types each route (by its name in the table) carries."""
    auth, rest_apis, http_apis, mappings, v2_mappings = {}, [], [], [], []
    several = len(apis) > 1
    n = 0
    for i, (base, routes) in enumerate(apis.items()):
        api_id = f"api{i}"
        resources: dict[str, dict] = {}
        v2_routes = []
        for route in routes:
            name = f"{base}: {route}" if several else route
            authorization, key = (REST_AUTH if kind == "rest" else HTTP_AUTH)[n]
            n += 1
            auth[name] = aws_apigateway._kinds(authorization, key)
            if kind == "rest":
                method, path = route.split(" ", 1)
                resources.setdefault(path, {"path": path, "resourceMethods": {}})["resourceMethods"][
                    method
                ] = {
                    "authorizationType": authorization,
                    "apiKeyRequired": key,
                }
            else:
                v2_routes.append(
                    {"RouteKey": route, "AuthorizationType": authorization, "ApiKeyRequired": key}
                )
        if kind == "rest":
            rest_apis.append(
                {
                    "id": api_id,
                    "name": api_id,
                    "resources": list(resources.values()),
                    "stages": [{"stageName": "prod"}],
                }
            )
            mappings.append({"restApiId": api_id, "basePath": base or "(none)", "stage": "prod"})
        else:
            stages = [{"StageName": "$default"}]
            http_apis.append(
                {
                    "ApiId": api_id,
                    "Name": api_id,
                    "ProtocolType": "HTTP",
                    "routes": v2_routes,
                    "stages": stages,
                }
            )
            v2_mappings.append({"ApiId": api_id, "ApiMappingKey": base, "Stage": "$default"})
    region = {
        "rest_apis": rest_apis,
        "domain_names": [{"domainName": DOMAIN, "mappings": mappings}] if mappings else [],
        "apis": http_apis,
        "v2_domain_names": [{"DomainName": DOMAIN, "mappings": v2_mappings}] if v2_mappings else [],
    }
    raw = {"tool": "aws", "collected_at": SEEN, "data": {"regions": {"eu-west-1": region}}}
    return list(aws_apigateway.normalize(raw)), auth


@pytest.mark.parametrize(
    "row", TABLE["rows"], ids=[f"{r['table']}-{r['request'][0]}-{r['request'][1]}" for r in TABLE["rows"]]
)
def test_aws_conformance_row_through_the_merge(row) -> None:
    """Each documented case: an API's route table and a request seen in traffic, merged as the
    pipeline merges them; the report attributes the endpoint to the one route API Gateway gives it
    (its auth types are that route's), or to none, and then it is a shadow endpoint."""
    table = TABLE["tables"][row["table"]]
    gateway, auth = aws_records(table["kind"], table["apis"])
    method, path = row["request"]
    rows, found = report([*gateway, traffic(path, method, DOMAIN)], ROLES)
    shadows = found["shadow"]
    key = endpoint_key(method, DOMAIN, "", path)
    served = row["serves"]
    assert rows[key]["in_gateway"] is (served is not None), row
    assert (key in shadows) is (served is None), row
    if served is not None:
        assert rows[key]["auth_types"] == auth[served], row


def test_aws_table_is_drawn_from_the_aws_developer_guide() -> None:
    """The table's data, not the code: enough rows, each citing a named page and a section of it,
    every route a row expects present in its table."""
    assert len(TABLE["rows"]) >= 30
    for row in TABLE["rows"]:
        source, _, section = row["source"].partition(":")
        assert source in TABLE["sources"] and section.strip(), row
        assert section.removesuffix(" (derived)").strip() in TABLE["sources"][source], row
        table = TABLE["tables"][row["table"]]
        names = [f"{b}: {r}" if len(table["apis"]) > 1 else r for b, rs in table["apis"].items() for r in rs]
        assert row["serves"] is None or row["serves"] in names, row


def test_a_root_proxy_is_seen_in_traffic_on_what_api_gateway_routes_to_it() -> None:
    """Findings ask the same router: traffic under a non-proxy sibling (/orders/123 under /orders) is
    not the root proxy's, so a deployed /{proxy+} that sees only such traffic is an orphan; traffic
    on any other path below the root is its own."""
    gateway, _ = aws_records("rest", {"": ["GET /{proxy+}", "GET /orders"]})

    def orphans(*paths: str) -> dict[str, dict]:
        records = [*gateway, *(traffic(path, host=DOMAIN) for path in paths)]
        found = find(merge(records, roles=ROLES), records, Analysis(), now=NOW, roles=ROLES)
        return {r["endpoint_key"]: r for r in found["orphan"]}

    proxy = f"GET {DOMAIN}/{{}}"
    assert orphans("/orders/123")[proxy]["reason"] == "deployed; never seen in traffic"
    assert orphans("/orders/123")[proxy]["path_match"] == "greedy"
    assert proxy not in orphans("/orders/123", "/food/dry/kibble")
