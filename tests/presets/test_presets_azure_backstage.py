"""The azure_apim and backstage presets, each collected over HTTP from an imitation of the vendor built
from its public reference (apiinv/sandbox/azure_apim.py, apiinv/sandbox/backstage.py) and compared with
the imitation's truth: every endpoint, its host and auth, nothing lost silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.presets.collecting import collected, validated, write_config


def entry(preset: str, **own: Any) -> dict[str, Any]:
    """A tools.yaml entry as a user writes it: the preset's name and the keys that differ."""
    return {"preset": preset, **own}


def collect(tmp_path: Path, name: str, tool_entry: dict[str, Any], env: dict[str, str]):
    folder = validated(write_config(tmp_path / "cfg", {name: tool_entry}, env))
    return collected(folder, name, tmp_path, max_retries=0)


def rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["method"], r["host"], r["base_path"] + r["path"], r["auth_required"], tuple(r["auth_types"]))
        for r in records
    )


def test_azure_api_management_is_collected_across_resource_groups_with_its_versions_and_auth(
    tmp_path: Path,
) -> None:
    """Services of two resource groups, then each service's current APIs by their id (a path), their
    operations, every proxy hostname; Segment versions in the path, Query/Header not; a revision in
    progress is no row; a subscription key, OAuth2 or OpenID settings make an operation authenticated."""
    from apiinv.sandbox.azure_apim import TOKEN_PATH, AzureResourceManager, estate, truth
    from apiinv.sandbox.server import SimServer

    services = estate()
    app = AzureResourceManager(services, client_id="app-id", client_secret="app-secret")
    with SimServer(app) as server:
        app.base_url = server.url
        tool_entry = entry(
            "azure_apim",
            api_base_url=server.url,
            token_url=server.url + TOKEN_PATH,
            credentials={"client_id": "${AZ_ID}", "client_secret": "${AZ_SECRET}"},
            endpoints={
                "services": {
                    "path": "/subscriptions/sub-1/providers/Microsoft.ApiManagement/service",
                    "params": {"api-version": "2022-08-01"},
                    "items": "value",
                }
            },
        )
        outcome, records, warnings = collect(
            tmp_path, "azure", tool_entry, {"AZ_ID": "app-id", "AZ_SECRET": "app-secret"}
        )
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert set(rows(records)) - set(truth(services)) == set(), set(truth(services)) - set(rows(records))
    assert rows(records) == truth(services)
    assert {r["tool"] for r in records} == {"azure_apim"}
    assert not warnings


def test_backstage_api_entities_are_collected_from_their_openapi_definitions(tmp_path: Path) -> None:
    """Every OpenAPI entity's operations, cursor page after page, hosts from each document's servers and
    auth from its security; a gRPC entity has no document and is counted, never silently an endpoint."""
    from apiinv.sandbox.backstage import BackstageCatalog, entities, truth
    from apiinv.sandbox.server import SimServer

    listed = entities(23)
    with SimServer(BackstageCatalog(listed, token="bs-token")) as server:
        tool_entry = entry("backstage", api_base_url=server.url, credentials={"token": "${BS_TOKEN}"})
        outcome, records, warnings = collect(tmp_path, "backstage", tool_entry, {"BS_TOKEN": "bs-token"})
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert rows(records) == truth(listed)
    assert {r["owner"] for r in records} == {"team-a"}
    assert warnings == [
        "listing inventory: 4 of 23 items have no \"spec.type == 'openapi' && spec.definition || `null`\""
    ]


def azure_entry(url: str) -> dict[str, Any]:
    from apiinv.sandbox.azure_apim import TOKEN_PATH

    return entry(
        "azure_apim",
        api_base_url=url,
        token_url=url + TOKEN_PATH,
        credentials={"client_id": "${AZ_ID}", "client_secret": "${AZ_SECRET}"},
        endpoints={"services": {"path": "/subscriptions/sub-1/providers/Microsoft.ApiManagement/service"}},
    )


def test_an_azure_operations_url_template_query_is_not_part_of_its_path(tmp_path: Path) -> None:
    """Azure's urlTemplate may carry a query (/users?$top={top}); the gateway routes on the path alone."""
    from apiinv.sandbox.azure_apim import AzureResourceManager, estate
    from apiinv.sandbox.server import SimServer

    services = estate()[:1]
    operations = services[0]["apis"][3]["ops"]  # the API at the service's root path
    operations[:] = [
        {"name": "users", "properties": {"method": "GET", "urlTemplate": "/users?$top={top}"}},
        {"name": "x", "properties": {"method": "POST", "urlTemplate": "/x/{id}?api-version={v}"}},
    ]
    app = AzureResourceManager(services, client_id="app-id", client_secret="app-secret")
    with SimServer(app) as server:
        app.base_url = server.url
        outcome, records, _ = collect(
            tmp_path, "azure", azure_entry(server.url), {"AZ_ID": "app-id", "AZ_SECRET": "app-secret"}
        )
    assert outcome.ok, outcome.summary()
    assert not [r["path"] for r in records if "?" in r["path"]]
    assert {(r["method"], r["path"]) for r in records if r["api_name"] == "api 3"} == {
        ("GET", "/users"),
        ("POST", "/x/{id}"),
    }


def test_azure_lists_an_apis_version_scheme_only_when_the_version_set_is_expanded() -> None:
    """Api_ListByService gives apiVersionSet (its versioningScheme) only with expandApiVersionSet=true;
    the preset asks for it, so Segment versions stay in the paths (the test above them all)."""
    import requests

    from apiinv import presets
    from apiinv.sandbox.azure_apim import PROVIDER, AzureResourceManager, estate
    from apiinv.sandbox.server import SimServer

    app = AzureResourceManager(estate(), client_id="app-id", client_secret="app-secret")
    app.authenticate = lambda request: None  # type: ignore[method-assign]
    apis = f"/subscriptions/sub-1/resourceGroups/rg-east/{PROVIDER}/apim0/apis"
    with SimServer(app) as server:

        def schemes(**params: str) -> list[Any]:
            answer = requests.get(
                server.url + apis, params={"api-version": "2022-08-01", **params}, timeout=5
            )
            return [api["properties"].get("apiVersionSet") for api in answer.json()["value"]]

        assert schemes() == [None, None]
        assert schemes(expandApiVersionSet="true")[0]["versioningScheme"] == "Segment"
    assert presets.preset("azure_apim")["endpoints"]["apis"]["params"]["expandApiVersionSet"] == "true"


def test_backstage_takes_a_cursor_alone_and_ignores_a_filter_beside_it() -> None:
    """openapi.yaml's cursor: the first page's filter holds for every page after it; a filter given
    with a cursor is not read. The catalog holds a Component too, which kind=api keeps out."""
    import requests

    from apiinv.sandbox.backstage import BackstageCatalog, entities
    from apiinv.sandbox.server import SimServer

    listed = entities(5)
    url_path, headers = "/api/catalog/entities/by-query", {"Authorization": "Bearer t"}
    with SimServer(BackstageCatalog(listed, token="t")) as server:
        first = requests.get(
            server.url + url_path, params={"filter": "kind=api", "limit": 3}, headers=headers, timeout=5
        )
        cursor = first.json()["pageInfo"]["nextCursor"]
        alone = requests.get(
            server.url + url_path, params={"cursor": cursor, "limit": 3}, headers=headers, timeout=5
        )
        other = {"cursor": cursor, "limit": 3, "filter": "kind=component"}
        beside = requests.get(server.url + url_path, params=other, headers=headers, timeout=5)
    assert alone.status_code == 200 and alone.json() == beside.json()
    assert first.json()["totalItems"] == 5 and len(listed) == 6
    names = [e["metadata"]["name"] for e in first.json()["items"] + alone.json()["items"]]
    assert names == [f"svc{i}" for i in range(5)]
    assert alone.json()["pageInfo"] == {}
