"""Presets: a tools.yaml entry that says ``preset: NAME`` and gives its URL and secret collects the vendor
whole, with the right auth, against an imitation of the vendor built from its public reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiinv import config
from apiinv.sources import rest
from tests.presets.collecting import collected, write_config


def rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["method"], r["host"], r["path"], r["path_match"], r["auth_required"], tuple(r["auth_types"]))
        for r in records
    )


def test_tyk_is_collected_whole_with_the_default_page_size(tmp_path: Path) -> None:
    """47 APIs in pages of the Dashboard's own 10, whatever size apiinv asks for: every served API is a
    prefix row on its domain (or any host) with its auth; internal and inactive ones are not rows."""
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.tyk import TykDashboard, definitions, truth

    apis = definitions(47)
    app = TykDashboard(apis, api_key="tyk-secret-key")
    with SimServer(app) as server:
        entry = {"preset": "tyk", "api_base_url": server.url, "credentials": {"api_key": "${TYK_KEY}"}}
        folder = write_config(tmp_path / "cfg", {"tyk": entry}, {"TYK_KEY": "tyk-secret-key"})
        outcome, records, _ = collected(folder, "tyk", tmp_path)
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert rows(records) == truth(apis)
    assert {r["tool"] for r in records} == {"tyk"}
    assert 0 < sum(not r["auth_required"] for r in records) < len(records)
    assert any(r["host"] for r in records) and any(not r["host"] for r in records)


def test_tyk_pages_that_end_before_their_count_are_a_truncated_listing(tmp_path: Path) -> None:
    """A Dashboard that says 5 pages and serves an empty third: exit 5's truncated, never ok."""
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.tyk import TykDashboard, definitions

    class Dropping(TykDashboard):
        def list_apis(self, request):  # type: ignore[no-untyped-def]
            if request.int_arg("p", 1) >= 3:
                from apiinv.sandbox.server import json_response

                return json_response({"apis": [], "pages": 5})
            return super().list_apis(request)

    app = Dropping(definitions(47), api_key="k")
    with SimServer(app) as server:
        entry = {"preset": "tyk", "api_base_url": server.url, "credentials": {"api_key": "${TYK_KEY}"}}
        folder = write_config(tmp_path / "cfg", {"tyk": entry}, {"TYK_KEY": "k"})
        outcome, _, _ = collected(folder, "tyk", tmp_path)
    assert outcome.status == "truncated", outcome.summary()


def collect_wso2(listed: list[dict[str, Any]], tmp_path: Path, **own: Any):
    """(outcome, records) of the WSO2 publisher imitation serving ``listed``, collected from the entry a
    user writes (the preset, the URLs, the client) and ``own`` keys."""
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.wso2 import BASE, TOKEN_PATH, Wso2Publisher

    app = Wso2Publisher(listed, client_id="apiinv", client_secret="wso2-secret")
    with SimServer(app) as server:
        entry = {
            "preset": "wso2",
            "api_base_url": server.url + BASE,
            "token_url": server.url + TOKEN_PATH,
            "credentials": {"client_id": "apiinv", "client_secret": "${WSO2_SECRET}"},
            **own,
        }
        folder = write_config(tmp_path / "cfg", {"wso2": entry}, {"WSO2_SECRET": "wso2-secret"})
        return collected(folder, "wso2", tmp_path)[:2]


def test_wso2_is_collected_whole_with_default_version_aliases(tmp_path: Path) -> None:
    """Every operation of 60 APIs over pages of 25 (a client-credentials token first): one row at the
    versioned context ({version} replaced or appended), one more at the bare context for a default
    version; authType None rows unauthenticated, the others with the API's security scheme."""
    from apiinv.sandbox.wso2 import apis, truth

    listed = apis(60)
    outcome, records = collect_wso2(listed, tmp_path, page_size=25)
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    expected = truth(listed)
    assert rows(records) == expected
    assert len(expected) > sum(len(api["operations"]) for api in listed)  # the aliases are there
    assert {r["api_name"] for r in records} == {api["name"] for api in listed}


def test_an_unknown_preset_is_one_line_naming_the_tool_field_and_known_presets(tmp_path: Path) -> None:
    from apiinv import presets

    folder = write_config(tmp_path / "cfg", {"gw": {"preset": "tykk", "api_base_url": "https://d.test"}}, {})
    config_problems = config.validate(folder, require_planner=False)[1].problems
    assert config_problems == [
        f"{folder / 'tools.yaml'}: gw.preset: unknown preset 'tykk'; did you mean 'tyk'? "
        f"(known: {', '.join(presets.known())})"
    ]
    assert {"akto", "cequence", "tyk", "wallarm", "wso2"} <= set(presets.known())


def test_the_entrys_keys_win_over_the_presets_key_by_key(tmp_path: Path) -> None:
    """A host mapping given in the entry replaces the preset's host only; the rest of its fields stay."""
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.tyk import TykDashboard, definitions

    app = TykDashboard(definitions(12), api_key="k")
    with SimServer(app) as server:
        entry = {
            "preset": "tyk",
            "api_base_url": server.url,
            "credentials": {"api_key": "${TYK_KEY}"},
            "fields": {"host": "api_definition.domain || 'gw.acme.test'"},
        }
        folder = write_config(tmp_path / "cfg", {"tyk": entry}, {"TYK_KEY": "k"})
        outcome, records, _ = collected(folder, "tyk", tmp_path)
    assert outcome.ok, outcome.summary()
    assert "gw.acme.test" in {r["host"] for r in records} and all(r["host"] for r in records)
    assert {r["path_match"] for r in records} == {"prefix"}


def test_a_preset_entry_collects_cequence_like_its_built_in_type(tmp_path: Path) -> None:
    """``preset: cequence`` on a rest entry is the cequence type: the same defaults, one description."""
    from apiinv import registry

    cequence = registry.load("cequence").defaults
    folder = write_config(
        tmp_path / "cfg",
        {"c": {"preset": "cequence", "api_base_url": "https://c.test", "token_url": "https://c.test/t"}},
        {},
    )
    tool = config.load(folder).tools["c"]
    assert tool.type == "rest" and tool.auth_type == cequence["auth_type"] == "oauth"
    assert tool.page_size == cequence["page_size"]
    from apiinv.sources import cequence as built_in

    assert rest.PROFILE.mapping(tool.settings) == built_in.PROFILE.fields
    assert [listing.path for listing in rest.PROFILE.listings(tool.settings)] == [
        listing.path for listing in built_in.PROFILE.listings({})
    ]


def test_wso2_security_schemes_are_apiinvs_auth_kinds(tmp_path: Path) -> None:
    """WSO2's basic_auth is apiinv's basic (as Tyk's basic auth is): one name per kind across vendors."""
    from apiinv.sandbox.wso2 import apis

    listed = apis(12)
    assert "basic_auth" in {scheme for api in listed for scheme in api["securityScheme"]}
    outcome, records = collect_wso2(listed, tmp_path)
    assert outcome.ok, outcome.summary()
    assert {kind for r in records for kind in r["auth_types"]} == {"oauth2", "api_key", "basic"}


def test_a_tyk_listen_path_serves_the_traffic_below_it_in_the_combined_report(tmp_path: Path) -> None:
    """A Tyk API is a prefix row of any method: traffic on any path below its listen path, on its domain
    (or any host when it has none), is in the gateway with Tyk's auth, and no row of its own stays for
    the listen path when its traffic is all attributed."""
    from apiinv.analysis.merge import merge
    from apiinv.inventory.records import make_record
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.tyk import TykDashboard, definitions

    apis = definitions(8)
    app = TykDashboard(apis, api_key="tyk-secret-key")
    with SimServer(app) as server:
        entry = {"preset": "tyk", "api_base_url": server.url, "credentials": {"api_key": "${TYK_KEY}"}}
        folder = write_config(tmp_path / "cfg", {"tyk": entry}, {"TYK_KEY": "tyk-secret-key"})
        _, records, _ = collected(folder, "tyk", tmp_path)
    on_domain = next(r for r in records if r["host"] and r["auth_required"])
    any_host = next(r for r in records if not r["host"])

    def seen(host: str, path: str, method: str) -> Any:
        return make_record(
            tool="traffic", instance="traffic", collected_at="2026-11-23T10:00:00Z",
            api_id=None, api_name=None, base_path="", status="active",
            host=host, method=method, path=path, path_match="exact", auth_required=None, auth_types=[],
        )  # fmt: skip

    traffic = [
        seen(on_domain["host"], on_domain["path"] + "orders/{id}", "DELETE"),
        seen("edge.example", any_host["path"] + "v1/items", "POST"),
        seen("edge.example", "/nowhere/items", "GET"),
    ]
    roles = {"tyk": "gateway", "traffic": "traffic"}
    merged = {r["endpoint_key"]: r for r in merge([*records, *traffic], roles=roles)}
    below_domain, below_any, elsewhere = (merged[t["endpoint_key"]] for t in traffic)
    assert below_domain["in_gateway"] and below_domain["tools"] == ["traffic", "tyk"]
    assert below_domain["auth_required"] is True
    assert below_any["in_gateway"] and below_any["tools"] == ["traffic", "tyk"]
    assert not elsewhere["in_gateway"] and elsewhere["tools"] == ["traffic"]


def test_a_wso2_default_resource_serves_every_path_below_its_context(tmp_path: Path) -> None:
    """An API created without operations has WSO2's default resource ``/*`` per method: a prefix row at
    the versioned context, so traffic below it (any depth) is in the gateway, not a shadow API."""
    from apiinv.analysis.merge import merge
    from apiinv.inventory.records import make_record
    from apiinv.sandbox.wso2 import apis

    listed = [api for api in apis(8) if api["operations"][0]["target"] == "/*"]
    assert listed and listed[0]["context"] == "/svc2" and listed[0]["version"] == "3.0.0"
    outcome, records = collect_wso2(listed, tmp_path, fields={"host": "'gw.example'"})
    assert outcome.ok, outcome.summary()
    assert {(r["method"], r["path"], r["path_match"]) for r in records} >= {("GET", "/svc2/3.0.0", "prefix")}
    seen = make_record(
        tool="traffic", instance="traffic", collected_at="2026-11-23T10:00:00Z",
        api_id=None, api_name=None, base_path="", status="active",
        host="gw.example", method="GET", path="/svc2/3.0.0/orders/42/lines", path_match="exact",
        auth_required=None, auth_types=[],
    )  # fmt: skip
    merged = {r["endpoint_key"]: r for r in merge([*records, seen], roles={"wso2": "gateway"})}
    below = merged[seen["endpoint_key"]]
    assert below["in_gateway"] and below["tools"] == ["traffic", "wso2"]
