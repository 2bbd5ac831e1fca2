"""Which gateway routes and spec operations serve which endpoints, and the indexes that find them.

A gateway serves more than the keys it lists: an Apigee base path serves every path below it, an entry
without methods every method, an entry that knows no host every host; a Kong route (and another
gateway's regex row) what Kong's router matches (apiinv.analysis.routers.kong), tried on the paths other
tools observed rather than on the key; an AWS API Gateway route what API Gateway routes to it among its
API's routes (apiinv.analysis.routers.aws); a spec operation the paths its template fills
(apiinv.analysis.routers.openapi, concrete before templated). ``Router`` answers which entries serve a
concrete endpoint, ``TrafficIndex`` which traffic an entry serves; ``Indexes`` holds both, built once
per export and shared by the merge and the findings. Lookups go by host and literal prefix, so none
loops over all traffic or all routes per row.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from heapq import merge as merge_sorted
from itertools import chain

from apiinv.analysis.prefixes import PrefixTrie
from apiinv.analysis.routers import apigee, aws, kong, openapi, router_of
from apiinv.inventory.keys import ANY_METHOD, normalize_host, path_key, split_key
from apiinv.inventory.records import Row

log = logging.getLogger(__name__)


def role(record: Row, roles: Mapping[str, str]) -> str:
    """gateway, spec or traffic: the role of the tool it came from (``roles`` by tool name, which the
    caller knows from the configuration or the manifest); ``other`` for a tool it does not name."""
    return roles.get(record.get("instance") or "", "other")


def _first(path: str) -> str:
    return path.strip("/").split("/", 1)[0]


def _aws_add(gateway: aws.Gateway[Row], record: Row) -> None:
    """An API Gateway route into its API's table: what it serves depends on its siblings there
    (apiinv.analysis.routers.aws). The normalizer marks an HTTP API's ``$default`` route a prefix."""
    tags = record.get("tags") or []
    kind = aws.HTTP if "http" in tags else aws.WEBSOCKET if "websocket" in tags else aws.REST
    template = aws.CATCH_ALL if record["path_match"] == "prefix" else record["path"] or "/"
    api = f"{record['instance']} {record['api_id']}"
    host = split_key(record["endpoint_key"])[1]
    gateway.add(host, record["base_path"] or "", api, kind, record["method"], template, record)


def _aws_serving(gateway: aws.Gateway[Row], method: str, host: str, paths: Iterable[str]) -> list[Row]:
    """The API Gateway routes that serve any of ``paths`` (one route per API and path at most)."""
    if not gateway.hosts:  # the specs' router, or an estate without API Gateway
        return []
    found = {id(r): r for path in paths for r in gateway.serving(method, host, path)}
    return list(found.values())


def observed_paths(record: Row, key_path: str) -> list[str]:
    """The path a record stands for, as a gateway's router is given it: the path the tool saw (trailing
    slash and literal ids kept), else its template or the key's path, whose parameters a router reads
    as any value (routers.kong.serves_template, routers.openapi)."""
    path = record.get("path") or ""
    if path and not path.startswith("~"):
        base = (record.get("base_path") or "").rstrip("/")
        return [base + (path if path.startswith("/") else "/" + path)]
    return [key_path]


def kong_route_path(record: Row) -> str | None:
    """The route path of an entry Kong's router judges: a Kong route's own, or ``~`` and the regex of
    another gateway's regex row (a ``rest`` gateway's path_match regex: a regular expression in the
    syntax Kong evaluates, RE2's and Rust's common ground, matched from the start of the path; ``$``
    anchors its end). None for any other entry. Below a base path, the expression is joined to it as
    the record's key joins them (one slash between; a leading ``^`` anchors it there), and the base
    path is matched as text."""
    if router_of(record) is kong:
        return str(record["path"] or "/")
    if record["path_match"] != "regex":
        return None
    expression = str(record["path"] or "/")
    base = (record.get("base_path") or "").strip("/")
    if not base:  # as a key reads it, the expression starts at the path's first slash
        return "~" + (expression if expression.startswith(("/", "^")) else "/" + expression)
    below = expression.removeprefix("^")
    return "~/" + _REGEX_SPECIAL.sub(r"\\\g<0>", base) + ("" if below.startswith("/") else "/") + below


# What a regular expression reads as other than itself: a base path's text is escaped before it.
_REGEX_SPECIAL = re.compile(r"[\\.^$*+?()\[\]{}|]")


def matcher(record: Row, *, any_host: bool = False) -> Callable[[str, str, str], bool]:
    """Whether a gateway or spec entry serves a concrete endpoint: ``test(method, host, path)``, with
    ``any_host`` whatever host either names. Built once per entry, tried on many endpoints. Kong
    routes are judged by Kong's router (apiinv.analysis.routers.kong) on the concrete path."""
    own_method, own_host, own_path = split_key(record["endpoint_key"])
    check_host = bool(own_host) and not any_host
    route_path = kong_route_path(record)
    if route_path is not None:
        route_host = normalize_host(record["host"]) if check_host else ""

        return partial(_kong_test, own_method, route_host, route_path)
    # A prefix (an Apigee base path, a spec's API) serves what is below it; an operation or an exact
    # entry the paths its template fills (routers.openapi).
    serves = apigee.serves if record["path_match"] == "prefix" else openapi.serves
    # A partial, not a closure: one per routed entry, and a closure's cells took three times the memory.
    return partial(_entry_test, own_method, own_host if check_host else None, serves, own_path)


def _kong_test(own_method: str, route_host: str, route_path: str, method: str, host: str, path: str) -> bool:
    serves = kong.serves_template if openapi.templated(path) else kong.serves
    try:
        return serves(own_method, route_host, route_path, method, host, path)
    except kong.UnsupportedRegex:
        return False  # warned once when the route was indexed (Router.add)


def _entry_test(
    own_method: str,
    own_host: str | None,
    serves: Callable[[str, str], bool],
    own_path: str,
    method: str,
    host: str,
    path: str,
) -> bool:
    """``own_host`` None: any host."""
    if own_method not in (ANY_METHOD, method) or (own_host is not None and own_host != host):
        return False
    return serves(own_path, path)


def _serves_more(record: Row) -> bool:
    """An entry that serves keys other than its own (a route, a base path, any method, any host)."""
    if router_of(record) in (kong, aws):
        return True  # Kong: a prefix or a regex, or everything; AWS: what its API's routing gives it
    broad = (
        record["path_match"] in ("prefix", "regex")
        or record["method"] == ANY_METHOD
        or not record["host"]
        or openapi.templated(split_key(record["endpoint_key"])[2])
    )
    # An API-level entry that knows neither host nor path says nothing about what it serves.
    says_nothing = (
        not record["host"] and not record["base_path"] and split_key(record["endpoint_key"])[2] == "/"
    )
    return broad and not says_nothing


def evaluable(record: Row, warned: set[str]) -> bool:
    """False, with a warning the first time, for a regex route this module cannot evaluate."""
    path = kong_route_path(record) or ""
    if not path.startswith("~"):
        return True
    try:
        kong.compiled(path[1:])
        return True
    except kong.UnsupportedRegex as error:
        if path not in warned:
            warned.add(path)
            log.warning(
                "%s: route path %s cannot be evaluated, so it serves nothing here: %s",
                record["instance"],
                path,
                error,
            )
        return False


def _literal_head(record: Row) -> str:
    """What every path a non-Kong entry serves starts with: its key's path up to its first template
    expression, a prefix's without the trailing slash (routers.openapi, routers.apigee)."""
    head = split_key(record["endpoint_key"])[2].split("{", 1)[0]
    return head.rstrip("/") if record["path_match"] == "prefix" else head


class Router:
    """Entries that serve more than their own key, indexed so that a lookup tries only those that may
    serve it. Kong routes by the host name they require (None: any host) and the literal text every
    path they serve starts with (a pure string prefix: a lookup tries each prefix length of the path);
    the others by their host ("": any) and literal head, those whose first segment is ``/`` or holds a
    parameter by host alone. Matches come as the merge reads them: those under a literal head, then
    those by host alone, each in the order added; then Kong routes, then API Gateway routes."""

    def __init__(self) -> None:
        self.added = 0
        # By host, the first segment every path under the head is in (None: the head ends inside its
        # first segment) and the head; the heads' lengths by host and first segment, so that a lookup
        # slices the path only at lengths a head under its own first segment has.
        self.by_head: dict[tuple[str, str | None, str], list[_Route]] = defaultdict(list)
        self.head_lengths: dict[tuple[str, str | None], set[int]] = defaultdict(set)
        self.everywhere: dict[str, list[_Route]] = defaultdict(list)
        self.kong: dict[tuple[str | None, str], list[_Route]] = defaultdict(list)
        self.kong_prefixes: dict[str | None, PrefixTrie] = defaultdict(PrefixTrie)  # by host name
        self.warned: set[str] = set()
        self.aws: aws.Gateway[Row] = aws.Gateway()

    def add(self, record: Row) -> None:
        routing = router_of(record)
        if routing is aws:
            _aws_add(self.aws, record)
            return
        if not evaluable(record, self.warned):
            return
        route = (self.added, record, matcher(record))
        self.added += 1
        _, own_host, path = split_key(record["endpoint_key"])
        route_path = kong_route_path(record)
        if route_path is not None:
            prefix = kong.literal_prefix(route_path)
            name = kong.exact_host_name(normalize_host(record["host"])) if own_host else None
            if (name, prefix) not in self.kong:
                self.kong_prefixes[name].add(prefix)
            self.kong[(name, prefix)].append(route)
            return
        first = _first(path)
        # An entry whose first segment is (or holds) a parameter may serve any first segment.
        if not first or openapi.templated(first):
            self.everywhere[own_host].append(route)
            return
        head = _literal_head(record)
        self.head_lengths[(own_host, _first_segment(head))].add(len(head))
        self.by_head[(own_host, _first_segment(head), head)].append(route)

    def serving(self, key: str, paths: Iterable[str] = ()) -> list[Row]:
        """Entries other than the key's own that serve it; Kong routes (the key's own included) are
        tried on ``paths``, the concrete paths seen under the key (else the key's path)."""
        method, host, path = split_key(key)
        hosts = (host, "") if host else ("",)
        first = _first_segment(path)
        below = sorted(
            (
                route
                for where in hosts
                for segment in {first, None}
                for end in self.head_lengths.get((where, segment), ())
                if end <= len(path)
                for route in self.by_head.get((where, segment, path[:end]), ())
            ),
            key=_added,
        )
        everywhere = _in_order(*(self.everywhere.get(where, ()) for where in hosts))
        candidates = chain(below, everywhere)
        found = _nearest_base_paths(
            [r for _, r, test in candidates if r["endpoint_key"] != key and test(method, host, path)]
        )
        seen: set[int] = set()
        name = kong.host_name(host)
        for concrete in list(paths) or [path]:
            for _, record, test in self._kong_routes_under(concrete, name):
                if id(record) not in seen and test(method, host, concrete):
                    seen.add(id(record))
                    found.append(record)
        return found + _aws_serving(self.aws, method, host, list(paths) or [path])

    def _kong_routes_under(self, concrete: str, name: str) -> Iterator[_Route]:
        """The Kong routes for host ``name`` whose literal prefix the path (or, for a template, some
        path it stands for) starts with, by prefix in sorted order."""
        tries = [trie for trie in (self.kong_prefixes.get(name), self.kong_prefixes.get(None)) if trie]
        if not tries:  # the specs' router, and hosts no Kong route names
            return
        path = kong.normalize_request_path(concrete)
        if openapi.templated(concrete):
            tokens = kong.template_tokens(concrete)
            # Kong routes the normalised path: a prefix off its literal head serves none of its values.
            head = path.split("{", 1)[0] if openapi.templated(path) else path
            prefixes = {
                prefix
                for trie in tries
                for prefix in trie.reaching(tokens)
                if head.startswith(prefix) or (head != path and prefix.startswith(head))
            }
        else:
            prefixes = {prefix for trie in tries for prefix in trie.starting(path)}
        for prefix in sorted(prefixes):
            yield from self._kong_at(prefix, name)

    def _kong_at(self, prefix: str, name: str) -> Iterable[_Route]:
        return _in_order(self.kong.get((name, prefix), ()), self.kong.get((None, prefix), ()))


def _first_segment(path: str) -> str | None:
    """The first segment of a path that goes on below it (``v1`` of ``/v1/`` and ``/v1/x``), else None
    (``/v1``, ``/``): a path that starts with the other goes on in that same first segment."""
    slash = path.find("/", 1)
    return path[1:slash] if slash > 0 and path.startswith("/") else None


def _added(route: _Route) -> int:
    return route[0]


def _in_order(*routes: Iterable[_Route]) -> Iterable[_Route]:
    """Lists of routes, each in the order they were added, as one in that order."""
    lists = [r for r in routes if r]
    return merge_sorted(*lists, key=_added) if len(lists) > 1 else lists[0] if lists else ()


def _nearest_base_paths(found: list[Row]) -> list[Row]:
    """Without the Apigee base paths that a more specific one among them overrides (routers.apigee)."""
    base_paths = [r for r in found if router_of(r) is apigee and r["path_match"] == "prefix"]
    if len(base_paths) < 2:
        return found
    kept = {id(r) for r in apigee.chosen(base_paths, lambda r: split_key(r["endpoint_key"])[2])}
    overridden = {id(r) for r in base_paths} - kept
    return [r for r in found if id(r) not in overridden]


def specs_serving(key: str, own: list[Row], specs: Router) -> list[Row]:
    """The spec entries other than the key's own that serve it, unless a more concrete one does
    (routers.openapi: /pets/mine before /pets/{petId}); the key's own entries count as its path."""
    path = split_key(key)[2]
    serving = [(r, split_key(r["endpoint_key"])[2]) for r in specs.serving(key)]
    if not serving:
        return []
    chosen = openapi.most_specific([*((r, path) for r in own), *serving], lambda pair: pair[1])
    return [r for r, _ in chosen if r["endpoint_key"] != key]


# A route: the order it was added in, its record and its test of concrete endpoints (see ``matcher``).
_Route = tuple[int, Row, Callable[[str, str, str], bool]]
# A traffic endpoint with its key split: (method, host, path, record), path the observed one.
_Seen = tuple[str, str, str, Row]


class _Sorted:
    """Traffic endpoints sorted by a text (a path as some router reads it), so that those under a
    prefix are a range; and, for an entry that takes all of them, newest first."""

    __slots__ = ("_newest", "seen", "texts")

    def __init__(self, pairs: list[tuple[str, _Seen]]) -> None:
        pairs.sort(key=lambda pair: pair[0])
        self.texts = [text for text, _ in pairs]
        self.seen = [seen for _, seen in pairs]
        self._newest: dict[str, list[_Seen]] = {}

    def starting(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.texts, prefix), bisect_left(self.texts, prefix + "\U0010ffff")

    def equal(self, text: str) -> tuple[int, int]:
        return bisect_left(self.texts, text), bisect_right(self.texts, text)

    def newest(self, method: str) -> list[_Seen]:
        """Those with a last_seen and the method (any for ``*``), newest first."""
        if method not in self._newest:
            chosen = [s for s in self.seen if s[3].get("last_seen") and method in (ANY_METHOD, s[0])]
            self._newest[method] = sorted(chosen, key=lambda s: s[3]["last_seen"], reverse=True)
        return self._newest[method]

    def latest(self, span: tuple[int, int], method: str, test: Callable[[str, str, str], bool]) -> str | None:
        """The newest last_seen among the endpoints of ``span`` that ``test`` accepts. An entry that
        spans all of them (a catch-all) is answered by the first it accepts, newest first."""
        start, end = span
        if start == 0 and end == len(self.seen):
            return next((s[3]["last_seen"] for s in self.newest(method) if test(s[0], s[1], s[2])), None)
        served = (s for s in self.seen[start:end] if s[3].get("last_seen") and test(s[0], s[1], s[2]))
        return max((s[3]["last_seen"] for s in served), default=None)


def _segments_text(segments: Iterable[str]) -> str:
    """Whole segments as a text whose prefixes are its leading segments: ``/a/b/``."""
    return "/" + "".join(segment + "/" for segment in segments)


class TrafficIndex:
    """Traffic endpoints, their keys split once and their observed paths kept, sorted per host (and
    per first segment of their key) by the path each router reads: a lookup under an entry only tries
    the endpoints under its literal head, and one that takes them all stops at the newest it serves.
    Each sorting is built on the first lookup that needs it."""

    def __init__(self, gateway: aws.Gateway[Row]) -> None:
        self.every: list[_Seen] = []
        self._plain: dict[tuple[str | None, str | None], _Sorted] | None = None
        self._kong: dict[str | None, _Sorted] | None = None
        self._aws_paths: _Sorted | None = None
        self.aws = gateway  # API Gateway routes, judged among their siblings: complete before a lookup
        self._aws_latest: dict[int, str] | None = None

    def add(self, record: Row) -> None:
        method, host, path = split_key(record["endpoint_key"])
        for observed in observed_paths(record, path):
            self.every.append((method, host, observed, record))
        self._plain = self._kong = self._aws_paths = self._aws_latest = None

    def _by_host_and_segment(self) -> dict[tuple[str | None, str | None], _Sorted]:
        """By (host, first segment of the key), either None for any, sorted by observed path."""
        if self._plain is None:
            groups: dict[tuple[str | None, str | None], list[tuple[str, _Seen]]] = defaultdict(list)
            for seen in self.every:
                _, host, path, record = seen
                first = _first(split_key(record["endpoint_key"])[2]) or None
                for where in ((host, first), (None, first), (host, None), (None, None)):
                    groups[where].append((path, seen))
            self._plain = {where: _Sorted(pairs) for where, pairs in groups.items()}
        return self._plain

    def _by_host_name(self) -> dict[str | None, _Sorted]:
        """By host name (None: any), sorted by the path as Kong's router reads it."""
        if self._kong is None:
            groups: dict[str | None, list[tuple[str, _Seen]]] = defaultdict(list)
            for seen in self.every:
                pair = (kong.normalize_request_path(seen[2]), seen)
                groups[kong.host_name(seen[1])].append(pair)
                groups[None].append(pair)
            self._kong = {name: _Sorted(pairs) for name, pairs in groups.items()}
        return self._kong

    def latest(self, entry: Row, *, any_host: bool = False) -> str | None:
        """The newest last_seen of the traffic a gateway or spec entry serves (on any host when
        ``any_host``)."""
        method, host, path = split_key(entry["endpoint_key"])
        routing = router_of(entry)
        if routing is aws:
            return self._latest_aws(entry, host, any_host=any_host)
        one_host = bool(host) and not any_host
        route_path = kong_route_path(entry)
        if route_path is not None:  # any first segment may match a string prefix
            name = kong.exact_host_name(normalize_host(entry["host"])) if one_host else None
            column = self._by_host_name().get(name)
            span = column.starting(kong.literal_prefix(route_path)) if column else (0, 0)
        else:
            column = self._by_host_and_segment().get((host if one_host else None, _first(path) or None))
            exact = entry["path_match"] != "prefix" and not openapi.templated(path)
            if column:
                span = column.equal(path) if exact else column.starting(_literal_head(entry))
        return column.latest(span, method, matcher(entry, any_host=any_host)) if column else None

    def _latest_aws(self, entry: Row, host: str, *, any_host: bool) -> str | None:
        if any_host and host:  # as if all traffic came to the entry's host: what is under its head
            if self._aws_paths is None:
                self._aws_paths = _Sorted([(_segments_text(aws.segments(s[2])), s) for s in self.every])
            span = self._aws_paths.starting(_segments_text(self.aws.where(entry)[1]))

            def test(method: str, host_: str, path: str) -> bool:
                return self.aws.serves(entry, method, host_, path, any_host=True)

            # Any method: API Gateway's catch-all ($default) takes every method whatever its own.
            return self._aws_paths.latest(span, ANY_METHOD, test)
        if self._aws_latest is None:  # each endpoint routed once: by route, the newest traffic it takes
            self._aws_latest = {}
            for method, host_, path_, record in self.every:
                if not record.get("last_seen"):
                    continue
                for route in self.aws.serving(method, host_, path_):
                    newest = self._aws_latest.get(id(route))
                    if newest is None or record["last_seen"] > newest:
                        self._aws_latest[id(route)] = record["last_seen"]
        return self._aws_latest.get(id(entry))


class Indexes:
    """What merge and the findings look up, built once from all records: the gateway entries and the
    specs that serve an endpoint without having its key (a route, an API's base path, an operation on
    another host), and traffic under a gateway entry."""

    def __init__(self) -> None:
        self.gateways = Router()
        self.specs = Router()
        self.specs_by_path: dict[str, list[Row]] = defaultdict(list)
        self.traffic = TrafficIndex(self.gateways.aws)
        self.traffic_collected = False
        # Every record, sorted by endpoint_key (stably: a key's records in the order given), and those
        # keys: a key's records are a slice found by bisection. Mappings of each key to lists of its
        # records (merge's, and the findings' gateway and spec entries) took 26 MB of the 10,000-API
        # export's 292 MB peak; these take 16 bytes a record.
        self.ordered: list[Row] = []
        self.keys: list[str] = []
        self.roles: Mapping[str, str] = {}

    @classmethod
    def build(cls, records: Iterable[Row], roles: Mapping[str, str]) -> Indexes:
        indexes = cls()
        indexes.roles = roles
        given = records if isinstance(records, list | tuple) else list(records)
        for record in given:
            kind = role(record, roles)
            if kind == "spec":
                indexes.specs_by_path[path_key(record["endpoint_key"])].append(record)
                if _serves_more(record):
                    indexes.specs.add(record)
            elif kind == "gateway":
                if _serves_more(record):
                    indexes.gateways.add(record)
            elif kind == "traffic":
                indexes.traffic.add(record)
                indexes.traffic_collected = True
        keys = [record["endpoint_key"] for record in given]
        order = sorted(range(len(keys)), key=keys.__getitem__)  # stable: a key's records as given
        indexes.ordered = [given[i] for i in order]
        indexes.keys = [keys[i] for i in order]
        return indexes

    def drop_gateway_routes(self) -> None:
        """Let go of what only merge reads, the gateway entries' routes, once it has run: the findings'
        own lookups (made as they run) then take that memory rather than more. API Gateway's routes
        stay: the traffic index judges traffic by them."""
        kept = self.gateways.aws
        self.gateways = Router()
        self.gateways.aws = kept

    def records_of(self, key: str) -> list[Row]:
        """The records whose endpoint_key is ``key``, in the order given."""
        start = bisect_left(self.keys, key)
        return self.ordered[start : bisect_right(self.keys, key, start)]

    def groups(self) -> Iterator[tuple[str, list[Row]]]:
        """(endpoint_key, its records) for every key, in key order."""
        keys, start, end = self.keys, 0, len(self.keys)
        while start < end:
            key = keys[start]
            stop = bisect_right(keys, key, start)
            yield key, self.ordered[start:stop]
            start = stop

    def entries(self, key: str) -> list[Row]:
        """The gateway entries and spec operations whose own key is ``key``."""
        return [r for r in self.records_of(key) if role(r, self.roles) in ("gateway", "spec")]

    def specs_serving(self, key: str, *, any_host: bool = False) -> list[Row]:
        found = self.specs.serving(key)
        if any_host:
            found += [r for r in self.specs_by_path.get(path_key(key), []) if r["endpoint_key"] != key]
        return found
