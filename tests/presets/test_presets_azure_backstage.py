"""The azure_apim and backstage presets, each collected over HTTP from an imitation of the vendor built
from its public reference (apiinv/sandbox/azure_apim.py, apiinv/sandbox/backstage.py) and compared with
the imitation's truth: every endpoint, its host and auth, nothing lost silently.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from conftest import RUN_DATE

from apiinv import config
from apiinv.sources import rest


def entry(preset: str, **own: Any) -> dict[str, Any]:
    """A tools.yaml entry as a user writes it: the preset's name and the keys that differ."""
    return {"preset": preset, **own}


def collect(tmp_path: Path, name: str, tool_entry: dict[str, Any], env: dict[str, str]):
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store, read_json

    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "tools.yaml").write_text(yaml.safe_dump({name: tool_entry}))
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (folder / "planner.yaml").write_text("schedules: {}\n")
    loaded, report = config.validate(folder, folder / ".env")
    assert report.problems == [] and loaded is not None, report.problems
    tool = dataclasses.replace(config.load(folder).tools[name], retry_backoff=0.01, max_retries=0)
    store = Store(tmp_path / "output")
    outcome = collect_tool(tool, store.at(RUN_DATE), use_cache=False)
    raw_path = store.raw_path(RUN_DATE, name)
    records = list(rest.SOURCE.normalize(read_json(raw_path))) if raw_path.exists() else []
    warnings = store.step(RUN_DATE, name, "collect")["warnings"] if raw_path.exists() else []
    return outcome, records, warnings


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
