from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

pytestmark = pytest.mark.sandbox_tools("apigee")  # what the sandbox fixture runs


def test_start_key_and_token_pages_give_every_product_and_group_once(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "apigee", tmp_path, page_size=3)
    names = [p["name"] for p in raw["data"]["products"]]
    assert len(names) == len(set(names)) == sandbox.truth()["apigee"]["products"]
    assert outcome.stats["pages"] >= len(names) // 2
    groups = raw["data"]["envgroups"]
    assert [g["hostnames"] for g in groups] == [["api.acme.example"], ["api-test.acme.example"]]
    assert all(g["attachments"][0]["environment"] for g in groups)


def test_timestamps_are_epoch_milliseconds_as_strings(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "apigee", tmp_path)
    proxy = raw["data"]["proxies"][0]
    assert isinstance(proxy["metaData"]["createdAt"], str) and len(proxy["metaData"]["createdAt"]) == 13
    assert raw["data"]["deployments"][0]["deployStartTime"].isdigit()


def test_service_account_key_is_exchanged_through_google_auth(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path)
    assert outcome.ok
    assert sandbox.apps["apigee"].tokens.issued == 1


def test_an_operator_token_works_instead_of_a_key(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path, credentials={"token": sandbox.operator_token})
    assert outcome.ok
    assert sandbox.apps["apigee"].tokens.issued == 0


def test_a_token_expiring_mid_run_is_refreshed(sandbox, tmp_path: Path) -> None:
    sandbox.apps["apigee"].inject("expire_tokens", path="/revisions/")
    outcome, _ = fetch(sandbox, "apigee", tmp_path)
    assert outcome.ok, outcome.summary()
    assert outcome.stats["auth_refreshes"] == 1
    assert sandbox.apps["apigee"].tokens.issued == 2


def test_an_unknown_organization_is_a_clear_failure(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path, settings={"organization": "not-ours"})
    assert not outcome.ok
    assert "not allowed (check the scopes) (403)" in str(outcome.error)
    assert "/v1/organizations/not-ours" in str(outcome.error)


def test_environments_setting_limits_deployments(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "apigee", tmp_path, settings={"environments": ["test"]})
    assert raw["data"]["deployments"] and {d["environment"] for d in raw["data"]["deployments"]} == {"test"}


# ---------------------------------------------------------------------------------------------- normalize

RAW = {
    "tool": "apigee-eu",
    "type": "apigee",
    "collected_at": "2026-11-23T02:00:00Z",
    "data": {
        "environments": ["prod", "test"],
        "proxies": [
            {
                "name": "orders",
                "revision": ["1", "2"],
                "latestRevisionId": "2",
                "metaData": {"createdAt": "1700000000000", "lastModifiedAt": "1763000000000"},
            },
            {"name": "legacy", "revision": ["3"], "latestRevisionId": "3", "metaData": {}},
            {"name": "catchall", "revision": ["1"], "latestRevisionId": "1"},
        ],
        "deployments": [
            {
                "apiProxy": "orders",
                "revision": "2",
                "environment": "prod",
                "deployStartTime": "1763000000000",
            },
            {"apiProxy": "catchall", "revision": "1", "environment": "test"},
        ],
        "revisions": [
            {
                "name": "orders",
                "revision": "2",
                "displayName": "Orders API",
                "basepaths": ["/orders/v1"],
                "policies": ["VerifyAPIKey-1", "SpikeArrest-1"],
                "lastModifiedAt": "1763000000000",
            },
            {"name": "legacy", "revision": "3", "basepaths": ["/legacy"], "policies": ["AssignMessage-1"]},
            {"name": "catchall", "revision": "1", "basepaths": ["/all"], "policies": ["OAuthV2-Verify"]},
        ],
        "envgroups": [
            {
                "name": "prod-group",
                "hostnames": ["api.acme.example"],
                "attachments": [{"environment": "prod"}],
            },
            {
                "name": "test-group",
                "hostnames": ["test.acme.example", "test2.acme.example"],
                "attachments": [{"environment": "test"}],
            },
        ],
        "products": [
            {
                "name": "orders-product",
                "proxies": ["orders"],
                "operationGroup": {
                    "operationConfigs": [
                        {
                            "apiSource": "orders",
                            "operations": [
                                {"resource": "/orders/{id}", "methods": ["GET", "DELETE"]},
                                {"resource": "/reports/**", "methods": ["GET"]},
                            ],
                        }
                    ]
                },
            },
            {"name": "legacy-product", "proxies": ["legacy"]},
        ],
    },
}


def test_normalize_gives_one_record_per_deployment_and_operation() -> None:
    from apiinv.inventory.records import problems
    from apiinv.sources import apigee

    records = list(apigee.normalize(RAW))
    by_key = {r["endpoint_key"]: r for r in records}
    assert sorted(by_key) == [
        "* /legacy",
        "* test.acme.example/all",
        "* test2.acme.example/all",
        "DELETE api.acme.example/orders/v1/orders/{}",
        "GET api.acme.example/orders/v1/orders/{}",
        "GET api.acme.example/orders/v1/reports",
    ]
    get = by_key["GET api.acme.example/orders/v1/orders/{}"]
    assert (get["status"], get["environment"], get["api_name"]) == ("deployed", "prod", "Orders API")
    assert (get["auth_required"], get["auth_types"], get["tags"]) == (True, ["api_key"], ["rate_limited"])
    assert get["products"] == ["orders-product"]
    assert get["last_modified"] == "2025-11-13T02:13:20Z" and get["first_seen"] == "2023-11-14T22:13:20Z"
    assert by_key["GET api.acme.example/orders/v1/reports"]["path_match"] == "prefix"
    legacy = by_key["* /legacy"]
    assert (legacy["status"], legacy["environment"], legacy["auth_required"]) == ("undeployed", None, False)
    assert legacy["products"] == ["legacy-product"]
    assert by_key["* test.acme.example/all"]["auth_types"] == ["oauth2"]
    assert all(problems(r) == [] for r in records)


# ---------------------------------------------------------------------------------------------- legacy Edge


@pytest.fixture
def edge(sandbox):
    from apiinv.sandbox.apigee import ORGANIZATION, ApigeeEdgeApp
    from apiinv.sandbox.server import SimServer

    app = ApigeeEdgeApp(
        sandbox.estate,
        organization=ORGANIZATION,
        username="ops@acme.example",
        password="edge-password-value",
        day=RUN_DATE,
    )
    with SimServer(app) as server:
        yield app, server.url


EDGE_USER = {"username": "ops@acme.example", "password": "edge-password-value"}


def fetch_edge(sandbox, url: str, tmp_path: Path, credentials: dict = EDGE_USER, **overrides):
    return fetch(
        sandbox,
        "apigee",
        tmp_path,
        base_url=url,
        auth_type="basic",
        credentials=credentials,
        settings={"flavor": "edge"},
        **overrides,
    )


def test_edge_is_collected_into_the_same_shape_as_x(sandbox, edge, tmp_path: Path) -> None:
    app, url = edge
    names_served = len(app.estate.on(RUN_DATE).in_gateway("apigee"))
    outcome, raw = fetch_edge(sandbox, url, tmp_path, page_size=4)
    assert outcome.ok, outcome.summary()
    truth = sandbox.truth()["apigee"]
    assert {k: raw["counts"][k] for k in truth} == truth
    assert raw["data"]["flavor"] == "edge"
    assert [g["hostnames"] for g in raw["data"]["envgroups"]] == [
        ["api.acme.example"],
        ["api-test.acme.example"],
    ]
    assert isinstance(raw["data"]["proxies"][0]["metaData"]["createdAt"], int)
    assert outcome.stats["pages"] >= names_served // 4  # the name list was paged by count and startKey


def test_edge_records_carry_hosts_auth_and_dates(sandbox, edge, tmp_path: Path) -> None:
    from apiinv.inventory.records import problems
    from apiinv.sources import apigee

    _, raw = fetch_edge(sandbox, edge[1], tmp_path)
    records = list(apigee.normalize(raw))
    deployed = [r for r in records if r["status"] == "deployed"]
    assert deployed and {r["host"] for r in deployed} <= {"api.acme.example", "api-test.acme.example"}
    assert all(r["path_match"] == "prefix" and r["method"] == "*" for r in records)  # Edge has no operations
    assert all(r["last_modified"] and r["last_modified"].endswith("Z") for r in deployed)
    assert any(r["auth_required"] for r in records) and all(problems(r) == [] for r in records)


def test_edge_refuses_wrong_basic_credentials(sandbox, edge, tmp_path: Path) -> None:
    outcome, _ = fetch_edge(sandbox, edge[1], tmp_path, credentials={**EDGE_USER, "password": "wrong"})
    assert not outcome.ok and "credentials refused (401)" in str(outcome.error)
