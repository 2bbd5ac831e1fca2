from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.launch import Sandbox

pytestmark = pytest.mark.sandbox_tools("kong")  # what the sandbox fixture runs


def test_offset_pages_give_every_entity_once(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "kong", tmp_path, page_size=5)
    routes = raw["data"]["workspaces"]["default"]["routes"]
    assert len(routes) == len({r["id"] for r in routes}) == sandbox.truth()["kong"]["routes"]
    assert outcome.stats["pagination_stops"] == {"no next link": 3}
    assert isinstance(routes[0]["created_at"], int)


def test_admin_token_is_sent_when_rbac_is_on(tmp_path: Path) -> None:
    with Sandbox(size=20, seed=3, day=RUN_DATE, kong_admin_token=True, only=["kong"]) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        outcome, _ = fetch(sandbox, "kong", tmp_path)
        assert outcome.ok
        refused, _ = fetch(sandbox, "kong", tmp_path / "x", auth_type="none")
        assert not refused.ok and "credentials refused (401)" in str(refused.error)


def test_workspaces_prefix_the_paths(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "kong", tmp_path, settings={"workspaces": ["default"]})
    assert outcome.ok and raw["counts"] == sandbox.truth()["kong"]
    assert all(path.startswith("/default/") for path in sandbox.apps["kong"].hits)


# ---------------------------------------------------------------------------------------------- normalize

RAW = {
    "tool": "kong",
    "type": "kong",
    "collected_at": "2026-11-23T02:00:00Z",
    "data": {
        "workspaces": {
            "default": {
                "services": [
                    {"id": "s1", "name": "orders", "enabled": True, "tags": ["payments"]},
                    {"id": "s2", "name": "public", "enabled": False},
                ],
                "routes": [
                    {
                        "id": "r1",
                        "name": "orders-get",
                        "methods": ["GET"],
                        "hosts": ["edge.acme.example"],
                        "paths": ["~/orders/v1/orders/(?<orderId>[^/]+)$"],
                        "protocols": ["https"],
                        "service": {"id": "s1"},
                        "updated_at": 1763000000,
                        "created_at": 1700000000,
                        "tags": ["orders"],
                    },
                    {
                        "id": "r2",
                        "name": "orders-all",
                        "methods": None,
                        "hosts": [],
                        "paths": ["/orders/v1"],
                        "protocols": ["http"],
                        "service": {"id": "s1"},
                    },
                    {
                        "id": "r3",
                        "name": "public",
                        "methods": ["GET", "HEAD"],
                        "hosts": ["www.acme.example"],
                        "paths": ["/status"],
                        "service": {"id": "s2"},
                    },
                ],
                "plugins": [
                    {
                        "name": "rate-limiting",
                        "enabled": True,
                        "service": None,
                        "route": None,
                        "consumer": None,
                    },
                    {
                        "name": "key-auth",
                        "enabled": True,
                        "service": {"id": "s1"},
                        "route": None,
                        "consumer": None,
                    },
                    {
                        "name": "jwt",
                        "enabled": True,
                        "service": None,
                        "route": {"id": "r1"},
                        "consumer": None,
                    },
                    {
                        "name": "basic-auth",
                        "enabled": False,
                        "service": {"id": "s2"},
                        "route": None,
                        "consumer": None,
                    },
                    {
                        "name": "oauth2",
                        "enabled": True,
                        "service": None,
                        "route": None,
                        "consumer": {"id": "c1"},
                    },
                ],
            }
        }
    },
}


def test_normalize_gives_one_record_per_route_and_method() -> None:
    from apiinv.inventory.records import problems
    from apiinv.sources import kong

    records = list(kong.normalize(RAW))
    by_key = {r["endpoint_key"]: r for r in records}
    assert sorted(by_key) == [
        "* /orders/v1",
        "GET edge.acme.example/orders/v1/orders/{}",
        "GET www.acme.example/status",
        "HEAD www.acme.example/status",
    ]
    get = by_key["GET edge.acme.example/orders/v1/orders/{}"]
    assert (get["auth_required"], get["auth_types"]) == (True, ["api_key", "jwt"])
    assert get["tags"] == ["orders", "payments", "rate_limited"] and get["path_match"] == "regex"
    assert (get["api_name"], get["environment"], get["last_modified"]) == (
        "orders",
        "default",
        "2025-11-13T02:13:20Z",
    )
    catch_all = by_key["* /orders/v1"]
    assert (catch_all["path_match"], catch_all["url"], catch_all["auth_types"]) == (
        "prefix",
        "/orders/v1",
        ["api_key"],
    )
    status = by_key["GET www.acme.example/status"]
    assert (status["auth_required"], status["status"]) == (
        False,
        "undeployed",
    )  # the disabled plugin is no auth
    assert all(problems(r) == [] for r in records)
