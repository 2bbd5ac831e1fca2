"""The declarative rest source: a tool described in tools.yaml alone, against the sandbox's Akto-shaped
simulator and against local servers with nested, list-valued and hostile answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sources import rest


def collect(tmp_path: Path, server_url: str, settings: dict[str, Any], **options: Any):
    """(outcome, records, warnings) of a ``type: rest`` tool named ``listing`` at ``server_url``."""
    from apiinv.config import ToolConfig
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store, read_json

    tool = ToolConfig(
        name="listing", type="rest", base_url=server_url, auth_type="none", settings=settings, **options
    )
    store = Store(tmp_path)
    outcome = collect_tool(tool, store.at(RUN_DATE), use_cache=False)
    if not outcome.ok:
        return outcome, [], []
    raw = read_json(store.raw_path(RUN_DATE, "listing"))
    warnings = store.step(RUN_DATE, "listing", "collect")["warnings"]
    return outcome, list(rest.SOURCE.normalize(raw)), warnings


@pytest.mark.sandbox_tools("rest")
def test_the_akto_shaped_simulator_is_collected_whole(sandbox, tmp_path: Path) -> None:
    """Collections first, then one POST per collection with its id in the body; every endpoint arrives
    with the host of its parent collection and the auth its list of combinations says."""
    outcome, raw = fetch(sandbox, "rest", tmp_path)
    assert outcome.ok, outcome.summary()
    truth = sandbox.truth()["rest"]
    assert raw["counts"] == {"endpoints": truth["endpoints"], "collections": truth["collections"]}
    assert outcome.stats["requests"] == 1 + truth["collections"]
    records = list(rest.SOURCE.normalize(raw))
    assert len(records) == truth["endpoints"]
    assert {r["tool"] for r in records} == {"akto"} and {r["instance"] for r in records} == {"rest"}
    estate = sandbox.estate.on(RUN_DATE)
    expected = {
        f"{op.method} {api.host}{api.base_path}{op.template}": (
            None if op.public else api.auth_on(estate.day)
        )
        for api, op in estate.in_traffic()
    }
    for record in records:
        auth = expected[f"{record['method']} {record['host']}{record['path']}"]
        assert record["auth_required"] is (auth is not None), record
        assert record["last_seen"] and record["first_seen"] < record["last_seen"]


def test_the_sandbox_entry_is_the_akto_example_in_the_docs(tmp_path: Path) -> None:
    """docs/sources.md's Akto example and the simulator's tools.yaml entry are one configuration, and its
    Wallarm example is a valid rest entry."""
    import yaml

    from apiinv.sandbox.rest import ENTRY

    page = (Path(__file__).parents[2] / "docs" / "sources.md").read_text()
    block = page.split("# Akto: written from Akto's public API docs", 1)[1].split("```", 1)[0]
    block = block.split("\n", 1)[1]  # past the rest of the comment line
    example = yaml.safe_load(block)["akto"]
    assert {k: v for k, v in example.items() if k not in ("api_base_url", "credentials")} == ENTRY
    wallarm = page.split("# Wallarm: written from", 1)[1].split("```", 1)[0].split("\n", 1)[1]

    from apiinv import config

    (tmp_path / "planner.yaml").write_text('schedules:\n  n:\n    cron: "0 2 * * *"\n')
    (tmp_path / "tools.yaml").write_text(block + wallarm)
    (tmp_path / ".env").write_text("AKTO_API_KEY=k\nWALLARM_API_TOKEN=t\n")
    loaded, report = config.validate(tmp_path, tmp_path / ".env")
    assert report.problems == [] and loaded is not None
    assert {name: tool.role for name, tool in loaded.tools.items()} == {
        "akto": "traffic",
        "wallarm": "traffic",
    }


@pytest.fixture
def listing_server():
    from hostile_api import HostileServer

    with HostileServer() as server:
        yield server


def test_nested_lists_templates_constants_and_paging_in_a_posted_body(listing_server, tmp_path: Path) -> None:
    pages = [
        [
            {
                "endpoint": {
                    "url": "https://API.shop.example:443/v1/carts/{cartId}",
                    "verbs": ["GET", "delete"],
                },
                "auth": [["BEARER"], ["UNAUTHENTICATED"]],
                "labels": [{"name": "pci"}, {"name": "pii"}],
                "seen": {"first": 1_764_000_000_000, "last": "2026-11-22T10:00:00Z"},
                "team": {"name": "payments"},
            },
            {
                "endpoint": {"path": "/v1/health", "hosts": ["a.example", "b.example"], "verbs": "GET"},
                "auth": [],
                "seen": {"first": 1_764_000_000},
            },
        ],
        [
            {
                "endpoint": {"path": "/v1/orders/{id}", "hosts": ["a.example"], "verbs": ["POST"]},
                "auth": [["JWT"]],
            }
        ],
    ]

    def answer(handler) -> None:
        request = listing_server.received[-1]
        body = json.loads(request["body"])
        assert request["method"] == "POST" and body["filter"] == {"clientid": [7]}
        every = [item for page in pages for item in page]
        handler.send_json({"status": 200, "body": every[body["offset"] : body["offset"] + body["limit"]]})

    listing_server.route("/v1/objects/endpoint", answer)
    outcome, records, warnings = collect(
        tmp_path,
        listing_server.url,
        {
            "role": "traffic",
            "endpoints": {
                "inventory": {
                    "path": "/v1/objects/endpoint",
                    "method": "POST",
                    "body": {"filter": {"clientid": [7]}},
                    "items": "body",
                    "pagination": {"strategy": "offset"},
                }
            },
            "fields": {
                "url": "endpoint.url",
                "path": "endpoint.path",
                "host": "endpoint.hosts",
                "method": "endpoint.verbs",
                "auth_type": "auth",
                "sensitive_data": "labels.name",
                "first_seen": "seen.first",
                "last_seen": "seen.last",
                "owner": "team.name",
                "environment": {"const": "production"},
                "api_name": "{team.name} API",
            },
        },
        page_size=2,
    )
    assert outcome.ok, outcome.summary()
    assert [r["method"] for r in listing_server.received] == ["POST", "POST"]  # the second page is short
    keys = {r["endpoint_key"]: r for r in records}
    assert sorted(keys) == [
        "DELETE api.shop.example/v1/carts/{}",
        "GET a.example/v1/health",
        "GET api.shop.example/v1/carts/{}",
        "GET b.example/v1/health",
        "POST a.example/v1/orders/{}",
    ]
    cart = keys["GET api.shop.example/v1/carts/{}"]
    # Called once without credentials: not protected, whatever else it accepts.
    assert (cart["auth_required"], cart["auth_types"]) == (False, ["bearer"])
    assert cart["sensitive_data"] == ["pci", "pii"]
    assert (cart["first_seen"], cart["last_seen"]) == ("2025-11-24T16:00:00Z", "2026-11-22T10:00:00Z")
    assert (cart["owner"], cart["environment"], cart["api_name"]) == (
        "payments",
        "production",
        "payments API",
    )
    health = keys["GET a.example/v1/health"]
    assert (health["auth_required"], health["first_seen"], health["api_name"]) == (
        None,
        "2025-11-24T16:00:00Z",
        None,  # a template whose value is missing gives nothing, never " API"
    )
    assert keys["POST a.example/v1/orders/{}"]["auth_required"] is True
    assert not warnings


def test_for_each_quotes_vendor_values_into_the_path_and_a_failed_parent_fails_the_tool(
    listing_server, tmp_path: Path
) -> None:
    listing_server.route("/groups", lambda h: h.send_json({"groups": [{"id": "../admin"}, {"id": "g 2"}]}))
    listing_server.route(
        "/groups/..%2Fadmin/endpoints", lambda h: h.send_json([{"method": "GET", "path": "/a"}])
    )
    listing_server.route("/groups/g%202/endpoints", lambda h: h.send_json([{"method": "GET", "path": "/b"}]))
    settings = {
        "role": "gateway",
        "endpoints": {
            "groups": {"path": "/groups", "items": "groups"},
            "inventory": {"path": "/groups/{groups.id}/endpoints", "for_each": "groups", "items": None},
        },
        "fields": {"method": "method", "path": "path", "host": {"const": "api.example"}, "id": "@groups.id"},
    }
    outcome, records, _ = collect(tmp_path / "one", listing_server.url, settings)
    assert outcome.ok, outcome.summary()
    assert sorted((r["api_id"], r["endpoint_key"]) for r in records) == [
        ("../admin", "GET api.example/a"),
        ("g 2", "GET api.example/b"),
    ]
    assert sorted(r["path"] for r in listing_server.received) == [
        "/groups",
        "/groups/..%2Fadmin/endpoints",  # one segment, as sent: a vendor's id never climbs the path
        "/groups/g%202/endpoints",
    ]

    listing_server.route("/groups", lambda h: h.send_json({"error": "boom"}, 500))
    outcome, _, _ = collect(tmp_path / "two", listing_server.url, settings, max_retries=0)
    assert not outcome.ok  # no groups means no inventory: never "zero endpoints"
    assert "/groups" in outcome.error.message


def test_validate_config_names_what_a_rest_entry_lacks() -> None:
    problems = rest.SOURCE.settings_problems(
        {
            "endpoints": {"items": {"path": "/x", "for_each": "colections"}},
            "pagination": {"strategy": "pages"},
            "fields": {"verb": "method"},
        }
    )
    assert problems == [
        "role: missing; say what the tool's data is: gateway, spec or traffic",
        "endpoints.inventory: missing; it is the listing that holds the endpoints",
        "endpoints.items.for_each: no listing 'colections'",
        "pagination.strategy: unknown 'pages'; did you mean 'page'? "
        "(known: none, cursor, next_link, offset, page, start_key, token)",
        f"fields: unknown meaning(s) verb (known: {', '.join(rest.MEANINGS)})",
        "fields: map path or url, or no endpoint can be told apart",
    ]


def test_validate_config_reports_a_rest_tool_by_name(tmp_path: Path) -> None:
    from apiinv import config

    (tmp_path / "planner.yaml").write_text('schedules:\n  n:\n    cron: "0 2 * * *"\n')
    (tmp_path / "tools.yaml").write_text(
        "salt:\n  type: rest\n  api_base_url: https://salt.example\n  auth_type: none\n"
        "  endpoints: {inventory: /v1/apis}\n  fields: {path: path, method: verb}\n  rol: traffic\n"
    )
    loaded, report = config.validate(tmp_path)
    assert loaded is None
    found = "\n".join(report.problems)
    assert "salt.role: missing; say what the tool's data is" in found
    assert "rol" in found and "did you mean 'role'" in found


def test_render_keeps_types_and_never_half_fills() -> None:
    scope = {"c": {"id": 7, "name": "a/b", "on": True}}
    assert rest.render({"id": "{c.id}", "q": ["{c.name}"]}, scope) == {"id": 7, "q": ["a/b"]}
    assert rest.render("/c/{c.name}/x", scope, quote_values=True) == "/c/a%2Fb/x"
    assert rest.render("{c.on}-{c.id}", scope) == "true-7"
    assert rest.render("https://{c.host}{c.name}", scope) is None


def test_a_rest_tool_takes_the_role_its_settings_give() -> None:
    """Configured as a gateway, its endpoints are served (not shadow); as traffic they are seen."""
    from apiinv.analysis.merge import merge

    raw = {
        "tool": "edge",
        "collected_at": "2026-11-23T00:00:00Z",
        "data": {
            "vendor": "acme-gw",
            "fields": {"method": "m", "path": "p", "host": "h"},
            "endpoints": [{"m": "GET", "p": "/a", "h": "x.example"}],
        },
    }
    records = list(rest.SOURCE.normalize(raw))
    assert records[0]["tool"] == "acme-gw"
    (as_gateway,) = merge(records, roles={"edge": "gateway"})
    (as_traffic,) = merge(records, roles={"edge": "traffic"})
    assert (as_gateway["in_gateway"], as_gateway["in_traffic"]) == (True, False)
    assert (as_traffic["in_gateway"], as_traffic["in_traffic"]) == (False, True)


def test_listings_that_wait_on_each_other_are_named_and_never_fetched() -> None:
    settings = {
        "role": "traffic",
        "endpoints": {
            "inventory": {"path": "/a", "for_each": "b"},
            "b": {"path": "/b", "for_each": "inventory"},
        },
        "fields": {"path": "p"},
    }
    assert rest.PROFILE.listings(settings) == []
    assert (
        "endpoints.inventory.for_each: the listings depend on each other in a cycle"
        in rest.SOURCE.settings_problems(settings)
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_listings_for_each_item_finish_with_one_worker_or_more_siblings_than_workers(
    listing_server, tmp_path: Path, workers: int
) -> None:
    """Five listings fetched for each of six groups, in a pool of one or two: every request a user
    expects is made and the collection ends (it once waited forever holding the schedule's lock). The
    CLI runs in its own process under a timeout, so a hang fails the test instead of stalling it."""
    import subprocess
    import sys

    import yaml

    groups = [{"id": f"g{n}"} for n in range(6)]
    siblings = ["inventory", "owners", "tags", "keys", "stages"]
    listing_server.route("/groups", lambda h: h.send_json({"groups": groups}))
    for group in groups:
        for name in siblings:
            listing_server.route(
                f"/groups/{group['id']}/{name}",
                lambda h, g=group["id"]: h.send_json([{"method": "GET", "path": f"/{g}"}]),
            )
    endpoints: dict[str, Any] = {"groups": {"path": "/groups", "items": "groups"}}
    for name in siblings:
        endpoints[name] = {"path": f"/groups/{{groups.id}}/{name}", "for_each": "groups", "items": None}
    tools = {
        "listing": {
            "type": "rest",
            "role": "gateway",
            "api_base_url": listing_server.url,
            "auth_type": "none",
            "endpoints": endpoints,
            "fields": {"method": "method", "path": "path", "host": {"const": "api.example"}},
        }
    }
    (tmp_path / "tools.yaml").write_text(yaml.safe_dump(tools))
    (tmp_path / "planner.yaml").write_text("schedules: {}\n")
    apiinv = Path(sys.executable).parent / "apiinv"
    argv = [str(apiinv), "--config-dir", str(tmp_path), "--output", str(tmp_path / "out")]
    result = subprocess.run(
        [*argv, "--date", str(RUN_DATE), "collect", "listing", "--workers", str(workers), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(listing_server.received) == 1 + len(groups) * len(siblings)
    raw = json.loads((tmp_path / "out" / str(RUN_DATE) / "raw" / "listing.json").read_text())
    assert raw["counts"] == {
        name if name != "inventory" else "endpoints": 6 for name in ["groups", *siblings]
    }


def test_a_parent_whose_listing_fails_or_whose_value_cannot_be_a_segment_costs_only_its_children(
    listing_server, tmp_path: Path
) -> None:
    groups = [{"id": "g1"}, {"id": ".."}, {"id": "."}, {"name": "no id"}, {"id": "g2"}]
    listing_server.route("/groups", lambda h: h.send_json({"groups": groups}))
    listing_server.route("/groups/g1/endpoints", lambda h: h.send_json([{"method": "GET", "path": "/a"}]))
    listing_server.route("/groups/g2/endpoints", lambda h: h.send_json({"error": "boom"}, 500))
    settings = {
        "role": "traffic",
        "endpoints": {
            "groups": {"path": "/groups", "items": "groups"},
            "inventory": {"path": "/groups/{groups.id}/endpoints", "for_each": "groups", "items": None},
        },
        "fields": {"method": "method", "path": "path", "host": {"const": "api.example"}},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings, max_retries=0)
    assert outcome.ok and outcome.status == "partial", outcome.summary()
    assert [r["endpoint_key"] for r in records] == ["GET api.example/a"]
    failed = {item["item"]: item for item in outcome.failed_items}
    assert set(failed) == {"/groups/g2/endpoints", "..", ".", "{'name': 'no id'}"}
    assert "answered 500" in failed["/groups/g2/endpoints"]["reason"]
    assert "no usable value" in failed["{'name': 'no id'}"]["reason"]
    # Nothing was asked outside the template: a dot segment never reached the vendor.
    assert sorted(r["path"] for r in listing_server.received) == [
        "/groups",
        "/groups/g1/endpoints",
        "/groups/g2/endpoints",
    ]


def test_a_listing_whose_cursor_repeats_is_truncated_and_nothing_is_written(
    listing_server, tmp_path: Path
) -> None:
    listing_server.route(
        "/endpoints", lambda h: h.send_json({"items": [{"method": "GET", "path": "/a"}], "next": "c1"})
    )
    settings = {
        "role": "traffic",
        "endpoints": {"inventory": {"path": "/endpoints", "items": "items"}},
        "pagination": {"strategy": "cursor", "cursor_key": "next", "cursor_param": "after"},
        "fields": {"method": "method", "path": "path", "host": {"const": "api.example"}},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.status == "truncated" and records == []
    assert "listing /endpoints (repeated token 'c1': the server is cycling) stopped before its end" in (
        outcome.error.message
    )
    assert len(listing_server.received) == 2


def _tyk_like(
    listing_server, apis: list[dict[str, Any]], *, per_page: int = 10, lose_after: int | None = None
):
    """A Tyk Dashboard-like listing: ``?p=N``, its own page size whatever is asked, ``pages`` and a total;
    ``lose_after``: pages past this one come back empty (a listing that shrinks while it is read)."""
    from urllib.parse import parse_qs, urlsplit

    pages = -(-len(apis) // per_page)

    def answer(handler) -> None:
        page = int(parse_qs(urlsplit(handler.path).query)["p"][0])
        found = apis[(page - 1) * per_page : page * per_page]
        if lose_after is not None and page > lose_after:
            found = []
        handler.send_json({"apis": found, "pages": pages, "total": len(apis)})

    listing_server.route("/api/apis", answer)


def _paged_settings(**pagination: Any) -> dict[str, Any]:
    return {
        "role": "gateway",
        "endpoints": {"inventory": {"path": "/api/apis", "items": "apis"}},
        "pagination": {"strategy": "page", "page_param": "p", "size_param": "size", **pagination},
        "fields": {"method": {"const": "GET"}, "path": "path", "host": {"const": "api.example"}},
    }


@pytest.mark.parametrize("count_key", [{"pages_key": "pages"}, {"total_key": "total"}])
def test_page_numbers_follow_the_servers_page_count_or_total_past_its_own_short_pages(
    listing_server, tmp_path: Path, count_key: dict[str, str]
) -> None:
    """The server pages by 10 whatever is asked: its page count or total, not the short first page, says
    when the listing ends (it once took 10 of 47 and reported ok)."""
    apis = [{"path": f"/api/{n}"} for n in range(47)]
    _tyk_like(listing_server, apis)
    outcome, records, _ = collect(tmp_path, listing_server.url, _paged_settings(**count_key))
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert len(records) == 47
    assert len(listing_server.received) == 5


@pytest.mark.parametrize("count_key", [{"pages_key": "pages"}, {"total_key": "total"}])
def test_a_page_listing_that_ends_before_its_count_says_is_truncated(
    listing_server, tmp_path: Path, count_key: dict[str, str]
) -> None:
    apis = [{"path": f"/api/{n}"} for n in range(47)]
    _tyk_like(listing_server, apis, lose_after=2)
    outcome, records, _ = collect(tmp_path, listing_server.url, _paged_settings(**count_key))
    assert outcome.status == "truncated" and records == [], outcome.summary()
    assert "stopped before its end" in outcome.error.message


def test_an_offset_listing_that_empties_before_its_total_is_truncated(listing_server, tmp_path: Path) -> None:
    listing_server.route(
        "/api/apis",
        lambda h: h.send_json({"apis": [] if "offset=0" not in h.path else [{"path": "/a"}], "total": 3}),
    )
    settings = _paged_settings()
    settings["pagination"] = {"strategy": "offset", "total_key": "total"}
    outcome, _, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.status == "truncated", outcome.summary()
    assert "empty page with 1 of 3 items" in outcome.error.message


def test_relative_next_links_resolve_against_the_request_url_or_the_api_base(
    listing_server, tmp_path: Path
) -> None:
    """RFC 3986: ``3`` after ``/v4/apis/page/2`` is ``/v4/apis/page/3``; with ``relative_to: base``,
    ``/apis?offset=2`` after a base of ``.../v4`` is ``/v4/apis?offset=2`` (WSO2's pagination.next)."""
    listing_server.route("/v4/apis", lambda h: h.send_json({"list": [{"path": "/a"}], "next": "apis/page/2"}))
    listing_server.route("/v4/apis/page/2", lambda h: h.send_json({"list": [{"path": "/b"}], "next": "3"}))
    listing_server.route("/v4/apis/page/3", lambda h: h.send_json({"list": [{"path": "/c"}], "next": None}))
    settings: dict[str, Any] = {
        "role": "gateway",
        "endpoints": {"inventory": {"path": "/v4/apis", "items": "list"}},
        "pagination": {"strategy": "next_link", "next_key": "next"},
        "fields": {"method": {"const": "GET"}, "path": "path", "host": {"const": "api.example"}},
    }
    outcome, records, _ = collect(tmp_path / "request", listing_server.url, settings)
    assert outcome.status == "ok", outcome.summary()
    assert sorted(r["path"] for r in records) == ["/a", "/b", "/c"]

    listing_server.received.clear()
    listing_server.route(
        "/v4/apis",
        lambda h: h.send_json(
            {
                "list": [{"path": "/a"}],
                "pagination": {"next": None if "offset" in h.path else "/apis?offset=1"},
            }
        ),
    )
    settings["endpoints"] = {"inventory": {"path": "/apis", "items": "list"}}
    settings["pagination"] = {"strategy": "next_link", "next_key": "pagination.next", "relative_to": "base"}
    outcome, records, _ = collect(tmp_path / "base", listing_server.url + "/v4", settings)
    assert outcome.status == "ok", outcome.summary()
    assert [r["path"] for r in listing_server.received] == ["/v4/apis?size=100", "/v4/apis?offset=1"]


def test_jmespath_fields_filter_default_negate_quote_dotted_keys_and_fan_out_paths(
    listing_server, tmp_path: Path
) -> None:
    """What a user could not say before: a filtered host, a fallback, auth as a negated boolean, a
    condition over two fields, an annotation whose key holds dots, a joined tag list, a formatted URL
    and one row per element of a path list."""
    apis = [
        {
            "name": "orders",
            "hostnames": [
                {"type": "Management", "host": "mgmt.example"},
                {"type": "Proxy", "host": "gw.example"},
            ],
            "listen": "/orders/",
            "versions": ["v1", "v2"],
            "use_keyless": False,
            "internal": False,
            "labels": ["pci", "eu"],
            "annotations": {"backstage.io/owner": "team-a"},
        },
        {
            "name": "health",
            "domain": "health.example",
            "hostnames": [{"type": "Proxy", "host": "gw.example"}],
            "listen": "/health/",
            "versions": [],
            "use_keyless": True,
            "internal": True,
        },
    ]
    listing_server.route("/apis", lambda h: h.send_json({"apis": apis}))
    outcome, records, warnings = collect(
        tmp_path,
        listing_server.url,
        {
            "role": "gateway",
            "endpoints": {"inventory": {"path": "/apis", "items": "apis"}},
            "fields": {
                "method": "'GET'",
                "host": "domain || (hostnames[?type=='Proxy'].host | [0])",
                "path": "[listen, format('{}{}', listen, versions)][]",
                "authenticated": "!use_keyless",
                "auth_type": "use_keyless",
                "active": "!internal && !use_keyless",
                "owner": 'annotations."backstage.io/owner"',
                "tags": "join(',', labels || ['none'])",
                "api_name": "format('{} API', name)",
                "id": "{name}@{domain}",
            },
        },
    )
    assert outcome.ok, outcome.summary()
    keys = {r["endpoint_key"]: r for r in records}
    assert sorted(keys) == [
        "GET gw.example/orders",
        "GET gw.example/orders/v1",
        "GET gw.example/orders/v2",
        "GET health.example/health",
    ]
    orders, health = keys["GET gw.example/orders/v1"], keys["GET health.example/health"]
    assert (orders["auth_required"], orders["auth_types"], orders["status"]) == (True, [], "active")
    assert (health["auth_required"], health["auth_types"], health["status"]) == (False, [], "inactive")
    assert (orders["owner"], orders["tags"], orders["api_name"]) == ("team-a", ["eu", "pci"], "orders API")
    assert (health["tags"], health["api_id"], orders["api_id"]) == (["none"], "health@health.example", "")
    assert not warnings


def test_validate_config_names_a_bad_expression_with_its_location(tmp_path: Path) -> None:
    from apiinv import config

    (tmp_path / "planner.yaml").write_text('schedules:\n  n:\n    cron: "0 2 * * *"\n')
    (tmp_path / "tools.yaml").write_text(
        "tyk:\n  type: rest\n  role: gateway\n  api_base_url: https://tyk.example\n  auth_type: none\n"
        "  endpoints:\n    groups: /groups\n"
        "    inventory: {path: '/groups/{groups.id[}/apis', for_each: groups}\n"
        "  fields: {path: listen_path, host: \"hostnames[?type=='Proxy'\", method: \"'GET'\"}\n"
        "  pagination: {strategy: next_link, relative_to: api}\n"
    )
    loaded, report = config.validate(tmp_path)
    assert loaded is None
    found = "\n".join(report.problems)
    assert "tyk.fields.host: " in found and "hostnames[?type=='Proxy'" in found
    assert "tyk.endpoints.inventory.path: {groups.id[}: " in found
    assert "tyk.fields.path" not in found and "tyk.fields.method" not in found
    assert "tyk.pagination.relative_to: 'api' is neither request nor base" in found


def test_a_boolean_auth_field_is_whether_there_is_auth_never_an_auth_type() -> None:
    raw = {
        "tool": "tyk",
        "data": {
            "fields": {"path": "p", "method": "m", "host": "h", "auth_type": "secured"},
            "endpoints": [
                {"p": "/open", "m": "GET", "h": "x.example", "secured": False},
                {"p": "/mixed", "m": "GET", "h": "x.example", "secured": [True, "JWT"]},
            ],
        },
    }
    records = {r["path"]: r for r in rest.SOURCE.normalize(raw)}
    assert (records["/open"]["auth_required"], records["/open"]["auth_types"]) == (False, [])
    assert (records["/mixed"]["auth_required"], records["/mixed"]["auth_types"]) == (True, ["jwt"])


def test_a_child_expression_reads_its_parent_by_name(listing_server, tmp_path: Path) -> None:
    listing_server.route(
        "/services",
        lambda h: h.send_json(
            [{"name": "s1", "base": "/v1", "hosts": [{"kind": "proxy", "host": "s1.example"}]}]
        ),
    )
    listing_server.route(
        "/services/s1/apis", lambda h: h.send_json([{"path": "/a"}, {"path": "/b", "host": "own.example"}])
    )
    settings = {
        "role": "gateway",
        "endpoints": {
            "services": {"path": "/services", "items": None},
            "inventory": {"path": "/services/{services.name}/apis", "for_each": "services", "items": None},
        },
        "fields": {
            "method": "'GET'",
            "host": "host || (@services.hosts[?kind=='proxy'].host | [0])",
            "path": "format('{}{}', @services.base, path)",
        },
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.ok, outcome.summary()
    assert sorted(r["endpoint_key"] for r in records) == ["GET own.example/v1/b", "GET s1.example/v1/a"]


def test_a_value_marked_as_a_path_keeps_its_slashes_and_never_climbs_out_of_the_template(
    listing_server, tmp_path: Path
) -> None:
    """Azure addresses children by their parent's id, a path: ``{id:path}`` sends it as one, normalised;
    a value that climbs above its start or is nothing is refused, and an unmarked value stays a segment."""
    service = "/subscriptions/s1/resourceGroups/rg 1/providers/Microsoft.ApiManagement/service/a"
    groups = [
        {"id": service, "name": "a/b"},
        {"id": "/apis/echo;rev=2/./x/../y", "name": "r"},
        {"id": "/subscriptions/s1/../../../admin", "name": "up"},
        {"id": ".", "name": "dot"},
    ]
    listing_server.route("/groups", lambda h: h.send_json({"groups": groups}))
    for path in (
        "/subscriptions/s1/resourceGroups/rg%201/providers/Microsoft.ApiManagement/service/a/apis",
        "/apis/echo;rev=2/y/apis",
    ):
        listing_server.route(path, lambda h: h.send_json([{"method": "GET", "path": "/p"}]))
    settings = {
        "role": "gateway",
        "endpoints": {
            "groups": {"path": "/groups", "items": "groups"},
            "inventory": {
                "path": "/{groups.id:path}/apis",
                "for_each": "groups",
                "items": None,
                "params": {"name": "{groups.name}"},
            },
        },
        "fields": {"method": "method", "path": "path", "host": {"const": "api.example"}},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings, max_retries=0)
    assert outcome.status == "partial", outcome.summary()
    assert len(records) == 2
    assert sorted(r["path"] for r in listing_server.received) == [
        "/apis/echo;rev=2/y/apis?name=r",
        "/groups",
        "/subscriptions/s1/resourceGroups/rg%201/providers/Microsoft.ApiManagement/service/a/apis?name=a%2Fb",
    ]
    assert {item["item"] for item in outcome.failed_items} == {"/subscriptions/s1/../../../admin", "."}


def test_a_child_listing_reads_its_parent_the_page_it_came_in_and_the_root(
    listing_server, tmp_path: Path
) -> None:
    listing_server.route("/services", lambda h: h.send_json({"value": [{"name": "s1"}], "region": "eu"}))
    listing_server.route(
        "/services/s1/apis",
        lambda h: h.send_json({"value": [{"name": "a1"}, {"name": "a2"}], "tenant": "t9"}),
    )
    for api in ("a1", "a2"):
        listing_server.route(
            f"/s1/{api}/operations", lambda h, api=api: h.send_json({"value": [{"m": "GET", "p": f"/{api}"}]})
        )
    settings = {
        "role": "gateway",
        "endpoints": {
            "services": {"path": "/services", "items": "value"},
            "apis": {"path": "/services/{parent.name}/apis", "for_each": "services", "items": "value"},
            "inventory": {
                "path": "/{root.name}/{parent.name}/operations",
                "for_each": "apis",
                "items": "value",
                "params": {"tenant": "{page.tenant}", "region": '{parent."@services".name}'},
            },
        },
        "fields": {"method": "m", "path": "p", "host": "'api.example'"},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert sorted(r["endpoint_key"] for r in records) == ["GET api.example/a1", "GET api.example/a2"]
    assert sorted(r["path"] for r in listing_server.received)[:2] == [
        "/s1/a1/operations?tenant=t9&region=s1",
        "/s1/a2/operations?tenant=t9&region=s1",
    ]


PETSTORE_YAML = """
openapi: 3.0.3
info: {title: pets, version: "1"}
servers: [{url: "https://pets.example/v1"}]
components: {securitySchemes: {key: {type: apiKey, in: header, name: X-Key}}}
security: [{key: []}]
paths:
  /pets: {get: {}, post: {}}
  /health: {get: {security: []}}
"""


def test_a_spec_listing_takes_each_items_endpoints_from_its_openapi_document(
    listing_server, tmp_path: Path
) -> None:
    """``spec:`` reads an item's OpenAPI document (text or object) with the OpenAPI reader; the item's
    host and auth stand in where the document says nothing; a bad document costs that item only, named."""
    entities = [
        {"name": "pets", "definition": PETSTORE_YAML, "host": "fallback.example"},
        {
            "name": "orders",
            "definition": {"swagger": "2.0", "paths": {"/orders/{id}": {"delete": {}}}},
            "host": "orders.example",
            "open": False,
        },
        {"name": "broken", "definition": "paths: [unclosed", "host": "b.example"},
        {"name": "grpc", "host": "g.example"},
    ]
    listing_server.route("/entities", lambda h: h.send_json({"items": entities}))
    settings = {
        "role": "spec",
        "endpoints": {"inventory": {"path": "/entities", "items": "items", "spec": "definition"}},
        "fields": {"host": "host", "api_name": "name", "path": "path", "authenticated": "!open"},
    }
    outcome, records, warnings = collect(tmp_path, listing_server.url, settings, max_retries=0)
    assert outcome.status == "partial", outcome.summary()
    found = {r["endpoint_key"]: (r["api_name"], r["auth_required"], r["auth_types"]) for r in records}
    assert found == {
        "GET pets.example/v1/pets": ("pets", True, ["api_key"]),
        "POST pets.example/v1/pets": ("pets", True, ["api_key"]),
        "GET pets.example/v1/health": ("pets", False, []),
        "DELETE orders.example/orders/{}": ("orders", True, []),
    }
    assert [(i["listing"], i["item"]) for i in outcome.failed_items] == [("inventory", "broken")]
    assert "listing inventory: item broken: spec" in outcome.failed_items[0]["reason"]
    assert not any("item broken" in w for w in warnings)  # said once, as the failed item
    assert any("1 of 4 items have no 'definition'" in w for w in warnings)


def test_validate_config_names_a_bad_spec_expression_and_a_listing_named_like_the_context() -> None:
    problems = rest.SOURCE.settings_problems(
        {
            "role": "spec",
            "endpoints": {
                "parent": "/p",
                "inventory": {"path": "/x/{parent.id:path}", "for_each": "parent", "spec": "definition[?"},
            },
            "fields": {"path": "path"},
        }
    )
    assert any(p.startswith("endpoints.inventory.spec: ") for p in problems), problems
    assert any(p.startswith("endpoints.parent: 'parent' names the context") for p in problems), problems
    assert not any("endpoints.inventory.path" in p for p in problems), problems


def test_a_spec_operation_with_an_empty_servers_list_keeps_its_documents_servers(
    listing_server, tmp_path: Path
) -> None:
    """OAS 3: an empty ``servers`` on an operation or path item declares none, so the document's apply
    (as the openapi_specs source reads it), not the item's host with no base path."""
    document = {
        "openapi": "3.0.3",
        "info": {"title": "pets", "version": "1"},
        "servers": [{"url": "https://pets.example/v1"}],
        "paths": {
            "/pets": {"get": {"servers": []}},
            "/upload": {"servers": [], "post": {"servers": [{"url": "https://upload.example/v2"}]}},
        },
    }
    entity = {"name": "p", "definition": document}
    listing_server.route("/entities", lambda h: h.send_json({"items": [entity]}))
    settings = {
        "role": "spec",
        "endpoints": {"inventory": {"path": "/entities", "items": "items", "spec": "definition"}},
        "fields": {"host": "'fallback.example'", "api_name": "name"},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.ok, outcome.summary()
    assert sorted(r["endpoint_key"] for r in records) == [
        "GET pets.example/v1/pets",
        "POST upload.example/v2/upload",
    ]


def test_a_path_match_apiinv_does_not_know_is_a_rejected_record_naming_it_never_a_silent_exact() -> None:
    from apiinv.inventory.records import problems

    raw = {
        "tool": "tyk",
        "data": {
            "fields": {"path": "p", "method": "m", "host": "h", "path_match": "match"},
            "endpoints": [
                {"p": "/listen", "m": "*", "h": "x.example", "match": "Prefix"},
                {"p": "/other", "m": "*", "h": "x.example", "match": "starts_with"},
                {"p": "/plain", "m": "GET", "h": "x.example"},
            ],
        },
    }
    records = {r["path"]: r for r in rest.SOURCE.normalize(raw)}
    assert records["/listen"]["path_match"] == "prefix" and not problems(records["/listen"])
    assert records["/plain"]["path_match"] == "exact" and not problems(records["/plain"])
    assert any(p.startswith("path_match:") and "starts_with" in p for p in problems(records["/other"]))


def test_a_child_of_a_spec_listing_reads_the_page_its_parent_came_in(listing_server, tmp_path: Path) -> None:
    """A spec: listing's items are made anew with their operations; their children still read ``page``."""
    entities = [{"name": f"svc{n}", "definition": PETSTORE_YAML, "host": "h.example"} for n in range(3)]
    listing_server.route("/entities", lambda h: h.send_json({"items": entities, "tenant": "t1"}))
    for n in range(3):
        listing_server.route(f"/entities/svc{n}/owners", lambda h: h.send_json({"items": []}))
    settings = {
        "role": "spec",
        "endpoints": {
            "inventory": {"path": "/entities", "items": "items", "spec": "definition"},
            "owners": {
                "path": "/entities/{parent.name}/owners",
                "for_each": "inventory",
                "items": "items",
                "params": {"tenant": "{page.tenant}"},
            },
        },
        "fields": {"host": "host", "api_name": "name"},
    }
    outcome, records, _ = collect(tmp_path, listing_server.url, settings)
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    asked = sorted(r["path"] for r in listing_server.received if "/owners" in r["path"])
    assert asked == [f"/entities/svc{n}/owners?tenant=t1" for n in range(3)]
    assert {r["api_name"] for r in records} == {"svc0", "svc1", "svc2"}


def test_validate_config_names_a_misplaced_page_parameter_and_a_count_it_cannot_hold() -> None:
    """params_in is body or query; a count is held against a listing of its own, never per parent."""
    problems = rest.SOURCE.settings_problems(
        {
            "role": "traffic",
            "pagination": {"strategy": "offset", "params_in": "header"},
            "endpoints": {
                "parent": "/p",
                "inventory": {"path": "/x/{parent.id}", "for_each": "parent", "count": {"path": "count"}},
            },
            "fields": {"path": "path"},
        }
    )
    assert "pagination.params_in: 'header' is neither body nor query" in problems, problems
    assert (
        "endpoints.inventory.count: counts a listing of its own only (no for_each, where or each)" in problems
    ), problems


@pytest.mark.parametrize(
    ("pagination", "named"),
    [
        (
            {"strategy": "offset", "params_in": ["query"]},
            "pagination.params_in: ['query'] is neither body nor query",
        ),
        (
            {"strategy": "next_link", "relative_to": {"base": 1}},
            "pagination.relative_to: {'base': 1} is neither",
        ),
        ({"strategy": ["offset"]}, "pagination.strategy: unknown ['offset']"),
    ],
)
def test_validate_config_names_a_pagination_choice_given_as_a_list_or_mapping(pagination, named) -> None:
    """A YAML list or mapping where one word belongs is named like any unknown word, not a traceback."""
    problems = rest.SOURCE.settings_problems(
        {
            "role": "traffic",
            "pagination": pagination,
            "endpoints": {"inventory": "/x"},
            "fields": {"path": "p"},
        }
    )
    assert any(problem.startswith(named) for problem in problems), problems


def test_validate_config_names_a_null_page_size_where_the_paging_needs_one() -> None:
    """size_param: null asks no page size: next_link paging follows the server's links; offset or page
    paging counts on the size it asked, so there it is a configuration error."""

    def problems(strategy: str) -> list[str]:
        return rest.SOURCE.settings_problems(
            {
                "role": "traffic",
                "endpoints": {
                    "inventory": {"path": "/x", "pagination": {"strategy": strategy, "size_param": None}}
                },
                "fields": {"path": "path"},
            }
        )

    assert not [p for p in problems("next_link") if "size_param" in p]
    assert (
        "endpoints.inventory.pagination.size_param: null (ask no page size) is for next_link only"
        in problems("offset")
    )
