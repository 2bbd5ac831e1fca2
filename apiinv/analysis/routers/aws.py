"""Which route of which API serves a request on AWS API Gateway, as API Gateway's own routing does it.

Pure: no store, no clock, no vendor code. What API Gateway serves depends on an API's other routes (a
literal sibling wins over a parameter, a sibling resource is kept from a root proxy), so the unit is the
route table of one API on one host and base path, never a route alone. Sources, AWS API Gateway
Developer Guide (docs.aws.amazon.com/apigateway/latest/developerguide/, also kept in the GitHub
repository awsdocs/amazon-api-gateway-developer-guide, doc_source/<page>.md);
tests/analysis/conformance/aws.yaml holds the cases row by row:

Custom domains and stages (``select_mapping``)
- A request on a custom domain goes to the API mapping with the longest matching path; only mapping
  paths count, not routes; the empty mapping ``(none)`` takes what no path matches
  (http-api-mappings.html "Routing API requests"; rest-api-mappings.html "Mapping API requests").
- The mapped base path is stripped: ``orders/shop/5`` mapped to a stage makes ``/orders/shop/5/hats``
  the API's ``/hats`` (rest-api-mappings.html "Incoming requests to your custom domain name").
- On an API's own execute-api host the stage name is the first path segment; an HTTP API's
  ``$default`` stage has none and takes what no other stage matches (http-api-develop-routes.html
  "Routing API requests"). Both are mappings of that host here. Mappings match whole segments.

REST APIs (``select_rest``): a tree of resources below ``/``, walked segment by segment
- A path parameter ``{petId}`` is one segment of any value (api-gateway-method-settings-method-request.html
  "Set up API resources": ``/pets/{petId}`` exposes an individual pet of a given identifier).
- A greedy ``{proxy+}`` stands for its parent's child resources, ``/parent/{proxy+}`` for ``/parent/*``:
  never the parent itself; it must be the last part of a path (same page, "Use a proxy resource to
  streamline API setup").
- Non-proxy siblings are excluded from a proxy resource: with ``/{proxy+}`` and ``/parent``, the proxy
  takes nothing under ``/parent[/*]``; "a method request against a specific resource takes precedence
  over a method request against a generic resource at the same level" (same section). So at each level
  the walk takes a literal child, else a parameter child, else the greedy child, and does not come back
  (a resource that has no method for the request serves nothing, the proxy does not take it over).
- ``ANY`` is every method; a resource's own method wins over its ``ANY`` (same page, "Set up an HTTP
  method"; api-gateway-set-up-simple-proxy.html: a greedy resource may carry one method only).

HTTP APIs (``select_http``): routes are compared, not walked
- The most specific match wins: a full match of route and method, then a route with a greedy
  ``{proxy+}``, then the ``$default`` route; none: Not Found (http-api-develop-routes.html "Routing API
  requests"). Among full matches a literal segment is more specific than a parameter, among greedy
  routes the longer one (its example: ``GET /pets/{proxy+}`` over ``ANY /{proxy+}``).
- A greedy path variable catches all child resources of a route and ends the path; ``ANY`` matches every
  method not defined for the route (same page, "Working with path variables", introduction).
- WebSocket APIs select routes by message, not path: a route key is matched against the value of the
  API's route selection expression evaluated on a JSON message (websocket-api-develop-routes.html,
  introduction and "Route selection expressions"). Here every request at their base path is theirs, as
  a ``$default`` route: not stated by the vendor; apiinv's choice, as an inventory has no messages.

Not stated by the vendor; apiinv's choices (``Gateway``): an API that knows no host (never deployed)
serves on every host at its own paths; several APIs on one host and base path each answer with the
route they select.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from apiinv.inventory.keys import ANY_METHOD

T = TypeVar("T")
REST, HTTP, WEBSOCKET = "rest", "http", "websocket"
CATCH_ALL = "$default"  # an HTTP API's $default route (and a WebSocket API's routes)


def segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


def _greedy(part: str) -> bool:
    return part.startswith("{") and part.endswith("+}")


def _parameter(part: str) -> bool:
    return part.startswith("{") and part.endswith("}") and not _greedy(part)


@dataclass(frozen=True)
class Route(Generic[T]):
    """One route of an API: its method (``*`` for ANY), its template below the API's base path
    (``/pets/{petId}``, ``/items/{proxy+}``, or CATCH_ALL) and what it stands for."""

    method: str
    template: str
    value: T


def literal_head(template: str) -> tuple[str, ...]:
    """The segments every path a route's template serves starts with (below its base path): those
    before its first parameter or greedy segment; none for CATCH_ALL."""
    if template == CATCH_ALL:
        return ()
    head: list[str] = []
    for part in segments(template):
        if _parameter(part) or _greedy(part):
            break
        head.append(part)
    return tuple(head)


# --------------------------------------------------------------------------------------- mappings


def select_mapping(base_paths: Iterable[str], path: str) -> str | None:
    """The base path (of those a host maps) that takes ``path``: the longest that matches it in whole
    segments; ``""`` (the empty mapping) matches every path. None when no mapping matches."""
    request = segments(path)
    best: tuple[int, str] | None = None
    for base in base_paths:
        parts = segments(base)
        if request[: len(parts)] == parts and (best is None or len(parts) > best[0]):
            best = (len(parts), base)
    return best[1] if best else None


def below(base_path: str, path: str) -> str:
    """The request path as the API sees it: the mapped base path stripped."""
    return "/" + "/".join(segments(path)[len(segments(base_path)) :])


# ------------------------------------------------------------------------------------- REST APIs


@dataclass
class _Resource(Generic[T]):
    literal: dict[str, _Resource[T]] = field(default_factory=dict)
    parameter: _Resource[T] | None = None
    greedy: _Resource[T] | None = None
    methods: dict[str, Route[T]] = field(default_factory=dict)

    def child(self, part: str) -> _Resource[T]:
        if _greedy(part):
            self.greedy = self.greedy or _Resource()
            return self.greedy
        if _parameter(part):
            self.parameter = self.parameter or _Resource()
            return self.parameter
        return self.literal.setdefault(part, _Resource())


def resource_tree(routes: Sequence[Route[T]]) -> _Resource[T]:
    """A REST API's resources: each route's resource and its ancestors (which exist on API Gateway
    whether or not they have methods)."""
    root: _Resource[T] = _Resource()
    for route in routes:
        node = root
        for part in segments(route.template):
            node = node.child(part)
        node.methods.setdefault(route.method, route)
    return root


def select_rest(tree: _Resource[T], method: str, path: str) -> Route[T] | None:
    """The route of a REST API (its ``resource_tree``) that serves ``method path``, or None."""
    node = tree
    for part in segments(path):
        if part in node.literal:
            node = node.literal[part]
        elif node.parameter is not None:
            node = node.parameter
        elif node.greedy is not None:
            node = node.greedy  # takes this segment and every one after it
            break
        else:
            return None
    return node.methods.get(method) or node.methods.get(ANY_METHOD)


# ------------------------------------------------------------------------------------- HTTP APIs


def _full_match(template: tuple[str, ...], request: tuple[str, ...]) -> bool:
    return len(template) == len(request) and all(
        _parameter(t) or t == r for t, r in zip(template, request, strict=True)
    )


def _specificity(template: tuple[str, ...], method: str) -> tuple[int, tuple[bool, ...], bool]:
    """Greater is more specific: more segments, a literal before a parameter, a method before ANY."""
    return (len(template), tuple(not _parameter(t) for t in template), method != ANY_METHOD)


def select_http(routes: Sequence[Route[T]], method: str, path: str) -> Route[T] | None:
    """The route of an HTTP (or WebSocket) API that serves ``method path``, or None."""
    request = segments(path)
    full: list[tuple[tuple[int, tuple[bool, ...], bool], Route[T]]] = []
    greedy: list[tuple[tuple[int, tuple[bool, ...], bool], Route[T]]] = []
    default = None
    for route in routes:
        if route.template == CATCH_ALL:
            default = default or route
            continue
        if route.method not in (method, ANY_METHOD):
            continue
        template = segments(route.template)
        if template and _greedy(template[-1]):
            prefix = template[:-1]
            if len(request) > len(prefix) and _full_match(prefix, request[: len(prefix)]):
                greedy.append((_specificity(prefix, route.method), route))
        elif _full_match(template, request):
            full.append((_specificity(template, route.method), route))
    for matches in (full, greedy):
        if matches:
            return max(matches, key=lambda match: match[0])[1]
    return default


# ---------------------------------------------------------------------------------------- gateway


@dataclass
class Api(Generic[T]):
    """One API's routes as one host and base path serve them."""

    kind: str
    order: int = 0  # among the APIs of its host and base path
    routes: list[Route[T]] = field(default_factory=list)
    _tree: _Resource[T] | None = None

    def add(self, route: Route[T]) -> None:
        self.routes.append(route)
        self._tree = None

    def select(self, method: str, path: str) -> Route[T] | None:
        if self.kind != REST:
            return select_http(self.routes, method, path)
        if self._tree is None:
            self._tree = resource_tree(self.routes)
        return select_rest(self._tree, method, path)


class Gateway(Generic[T]):
    """Every API's routes by host, base path and API. An API that knows no host (never deployed)
    serves on every host, at its own paths."""

    def __init__(self) -> None:
        self.hosts: dict[str, dict[str, dict[str, Api[T]]]] = {}
        self.placed: dict[int, tuple[str, str, Api[T], Route[T]]] = {}  # id(value) -> its route, where
        # Per host and base path, the APIs by the literal heads of their routes (what a request must
        # start with to reach one), so a request is not put to every API of a host (or of no host).
        self.by_head: dict[tuple[str, str], dict[tuple[str, ...], list[Api[T]]]] = {}
        self._listed: set[tuple[int, tuple[str, ...]]] = set()

    def add(
        self, host: str, base_path: str, api: str, kind: str, method: str, template: str, value: T
    ) -> None:
        base = "/".join(segments(base_path))
        apis = self.hosts.setdefault(host, {}).setdefault(base, {})
        table = apis.get(api) or apis.setdefault(api, Api(kind, order=len(apis)))
        route = Route(method, template, value)
        table.add(route)
        self.placed[id(value)] = (host, base, table, route)
        head = literal_head(template)
        if (id(table), head) not in self._listed:
            self._listed.add((id(table), head))
            self.by_head.setdefault((host, base), {}).setdefault(head, []).append(table)

    def _apis(self, host: str, base: str, path: str) -> list[Api[T]]:
        """The APIs of a host and base path that may have a route for ``path`` (below the base path),
        in the order they were added."""
        by_head = self.by_head[(host, base)]
        request = segments(path)
        apis = [api for end in range(len(request) + 1) for api in by_head.get(request[:end], ())]
        return list({id(api): api for api in sorted(apis, key=lambda api: api.order)}.values())

    def serving(self, method: str, host: str, path: str) -> list[T]:
        """What serves ``method host path``: per API that its mapping selects, the route it selects."""
        found = []
        for where in dict.fromkeys((host, "")):
            mappings = self.hosts.get(where)
            base = select_mapping(mappings, path) if mappings else None
            if mappings is None or base is None:
                continue
            inside = below(base, path)
            for api in self._apis(where, base, inside):
                route = api.select(method, inside)
                if route is not None:
                    found.append(route.value)
        return found

    def where(self, value: T) -> tuple[str, tuple[str, ...]]:
        """A route's host, and the segments every path it serves starts with (its base path's, then
        its template's literal head)."""
        host, base, _, route = self.placed[id(value)]
        return host, segments(base) + literal_head(route.template)

    def serves(self, value: T, method: str, host: str, path: str, *, any_host: bool = False) -> bool:
        """Whether API Gateway sends ``method host path`` to the route of ``value``; with ``any_host``
        as if the request came to the route's own host."""
        own_host, base, api, _ = self.placed[id(value)]
        if own_host and not any_host and host != own_host:
            return False
        if select_mapping(self.hosts[own_host], path) != base:
            return False
        route = api.select(method, below(base, path))
        return route is not None and route.value is value
