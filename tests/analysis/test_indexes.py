"""The indexed lookups answer what trying every traffic endpoint (or every route) one by one answers
(issue #23)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiinv.analysis.prefixes import PrefixTrie
from apiinv.analysis.routers import kong
from apiinv.analysis.serving import Indexes, Router, _first, _nearest_base_paths, evaluable, matcher
from apiinv.inventory.keys import split_key
from apiinv.inventory.records import make_record

ROLES = {"kong": "gateway", "apigee": "gateway", "aws": "gateway", "42crunch": "spec", "cequence": "traffic"}
HOSTS = ("a.x", "b.x", "a.x:8443", "")
SEGMENTS = ("v1", "v2", "users", "7", "me")
PATHS = st.lists(st.sampled_from(SEGMENTS), max_size=3).map(lambda parts: "/" + "/".join(parts))
DAYS = st.sampled_from([None, "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", "2026-11-01T00:00:00Z"])
METHODS = st.sampled_from(["GET", "POST", "*"])


def _record(tool: str, **fields: object) -> dict:
    instance = "aws" if tool == "aws_apigateway" else tool
    defaults = {"collected_at": None, "api_id": "x", "api_name": None, "base_path": "", "status": "deployed"}
    return make_record(tool=tool, instance=instance, **{**defaults, **fields})  # type: ignore[arg-type]


traffic = st.builds(
    lambda method, host, path, day: _record(
        "cequence", method=method, host=host, path=path, last_seen=day, status="active"
    ),
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(HOSTS),
    PATHS,
    DAYS,
)
kong_route = st.builds(
    lambda method, host, path: _record("kong", method=method, host=host, path=path, path_match="prefix"),
    METHODS,
    st.sampled_from(HOSTS),
    st.one_of(
        PATHS,
        st.sampled_from(["/", "/v", "/users/", r"~/v1/\d+$", r"~/(v1|v2)/users", r"~(?i)/V2", r"~.*/me"]),
    ),
)
apigee_base_path = st.builds(
    lambda host, base: _record("apigee", method="*", host=host, base_path=base, path="", path_match="prefix"),
    st.sampled_from(HOSTS),
    st.sampled_from(["/", "/v1", "/v1/{}", "/users", "/{}/me"]),
)
spec_operation = st.builds(
    lambda method, host, path: _record("42crunch", method=method, host=host, path=path, status="documented"),
    METHODS,
    st.sampled_from(HOSTS),
    st.one_of(PATHS, st.sampled_from(["/", "/users/{id}", "/{id}/me", "/v1/{a}/{b}", "/v{n}"])),
)
aws_route = st.builds(
    lambda host, api, method, template: _record(
        "aws_apigateway",
        api_id=api,
        host=host,
        method=method,
        path="" if template == "$default" else template,
        tags=["http" if template == "$default" else "rest"],
        path_match="prefix" if template == "$default" else "exact",
    ),
    st.sampled_from(["a.x", ""]),
    st.sampled_from(["api1", "api2"]),
    METHODS,
    st.sampled_from(["$default", "/{proxy+}", "/v1/{proxy+}", "/users/{id}", "/v1", "/users/me"]),
)


def _naive_latest(indexes: Indexes, entry: dict, *, any_host: bool) -> str | None:
    """Every traffic endpoint tried one by one (a non-Kong entry with a first segment only on the
    endpoints whose key has that first segment, as findings always did)."""
    aws = indexes.traffic.aws
    _, host, path = split_key(entry["endpoint_key"])
    if entry["tool"] == "aws_apigateway":
        if any_host and host:

            def test(m: str, h: str, p: str) -> bool:
                return aws.serves(entry, m, h, p, any_host=True)
        else:

            def test(m: str, h: str, p: str) -> bool:
                return any(route is entry for route in aws.serving(m, h, p))
    else:
        test = matcher(entry, any_host=any_host)
    first = _first(path) if entry["tool"] not in ("kong", "aws_apigateway") else ""
    return max(
        (
            record["last_seen"]
            for m, h, p, record in indexes.traffic.every
            if record.get("last_seen")
            and (not first or _first(split_key(record["endpoint_key"])[2]) == first)
            and test(m, h, p)
        ),
        default=None,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(traffic, min_size=1, max_size=25),
    st.lists(st.one_of(kong_route, apigee_base_path, spec_operation, aws_route), min_size=1, max_size=10),
)
def test_the_newest_traffic_an_entry_serves_is_what_trying_every_endpoint_finds(seen, entries) -> None:
    indexes = Indexes.build([*entries, *seen], ROLES)
    for entry in entries:
        for any_host in (False, True):
            assert indexes.traffic.latest(entry, any_host=any_host) == _naive_latest(
                indexes, entry, any_host=any_host
            ), (entry["endpoint_key"], entry["path"], any_host)


PREFIXES = st.lists(st.text("ab/", max_size=5), max_size=8)
TEMPLATES = st.lists(st.sampled_from(["a", "b", "/", "{x}"]), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(PREFIXES, st.text("ab/", max_size=7), TEMPLATES)
def test_the_prefixes_a_path_or_template_reaches_are_those_trying_each_prefix_finds(prefixes, path, template):
    trie = PrefixTrie()
    for prefix in prefixes:
        trie.add(prefix)
    assert trie.starting(path) == sorted({p for p in prefixes if path.startswith(p)})
    reached = {p for p in prefixes if not p or kong.serves_template("*", "", p, "GET", "", template)}
    assert trie.reaching(kong.template_tokens(template)) == sorted(reached)


KONG_PATHS = st.one_of(PATHS, st.sampled_from(["/users/{id}", "/{id}", "/v1/{a}/me", "/v{n}", "/{a}{b}"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(kong_route, min_size=1, max_size=12),
    st.sampled_from(["GET", "POST"]),
    st.sampled_from(HOSTS),
    st.lists(KONG_PATHS, min_size=1, max_size=3),
)
def test_the_kong_routes_serving_an_endpoint_are_what_trying_every_route_finds(routes, method, host, paths):
    router = Router()
    for route in routes:
        router.add(route)
    key = _record("cequence", method=method, host=host, path=paths[0], status="active")["endpoint_key"]
    _, key_host, _ = split_key(key)
    # By literal prefix, then in the order they were added, per path: the order the rows name them in.
    tried = sorted(
        (r for r in routes if evaluable(r, set())), key=lambda r: kong.literal_prefix(r["path"] or "/")
    )
    expected: list[dict] = []
    for path in sorted(set(paths)):
        expected += [
            r for r in tried if matcher(r)(method, key_host, path) and not any(r is e for e in expected)
        ]
    assert router.serving(key, sorted(set(paths))) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            apigee_base_path,
            spec_operation,
            st.builds(
                lambda host, base: _record(
                    "apigee", method="*", host=host, base_path=base, path="", path_match="prefix"
                ),
                st.sampled_from(HOSTS),
                st.sampled_from(["/v", "/v1x", "/v1/", "/users/me", "/v{n}/users"]),
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    METHODS,
    st.sampled_from(HOSTS),
    st.one_of(PATHS, st.sampled_from(["/v1x/users", "/v", "/v1/users/{id}"])),
)
def test_the_entries_serving_an_endpoint_are_what_trying_every_entry_finds(entries, method, host, path):
    """Base paths and operations, looked up by host, first segment and literal head."""
    router = Router()
    for entry in entries:
        router.add(entry)
    key = _record("cequence", method=method, host=host, path=path, status="active")["endpoint_key"]
    key_method, key_host, key_path = split_key(key)
    expected = [e for e in entries if e["endpoint_key"] != key and matcher(e)(key_method, key_host, key_path)]
    # Those under a literal head first, then those by host alone, each in the order added: the merge
    # reads the first of them (auth from, path match, spec).
    by_host_alone = {id(route[1]) for routes in router.everywhere.values() for route in routes}
    ordered = sorted(_nearest_base_paths(expected), key=lambda e: id(e) in by_host_alone)
    assert [id(e) for e in router.serving(key)] == [id(e) for e in ordered]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(traffic, kong_route, apigee_base_path, spec_operation, aws_route), max_size=30))
def test_a_keys_records_are_what_a_mapping_of_each_key_finds(records) -> None:
    indexes = Indexes.build(records, ROLES)
    by_key: dict[str, list] = {}
    for record in records:
        by_key.setdefault(record["endpoint_key"], []).append(record)

    assert [(key, group) for key, group in indexes.groups()] == sorted(by_key.items(), key=lambda kv: kv[0])
    for key, group in by_key.items():
        assert indexes.records_of(key) == group
        assert indexes.entries(key) == [r for r in group if ROLES[r["instance"]] in ("gateway", "spec")]
    assert indexes.records_of("GET nowhere.x/none") == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(traffic, kong_route, apigee_base_path, spec_operation, aws_route), max_size=30))
def test_the_findings_are_the_same_once_merge_has_let_go_of_the_gateway_routes(records) -> None:
    from datetime import UTC, datetime

    from apiinv.analysis.findings import find
    from apiinv.analysis.merge import merge
    from apiinv.config import Analysis

    now = datetime(2026, 11, 23, tzinfo=UTC)
    shared = Indexes.build(records, ROLES)
    merged = merge(records, roles=ROLES, indexes=shared)
    shared.drop_gateway_routes()
    assert not shared.gateways.by_head and not shared.gateways.kong and not shared.gateways.everywhere

    found = find(merged, records, Analysis(), now=now, roles=ROLES, indexes=shared)
    assert found == find(merged, records, Analysis(), now=now, roles=ROLES)  # lookups of its own
