"""Any tool with a JSON listing, configured in tools.yaml alone: the declarative ``rest`` source.

A tool is described by what its API serves, never by code:

    akto:
      type: rest
      role: traffic                       # gateway | spec | traffic: what its data says
      api_base_url: https://app.akto.io
      auth_type: api_key                  # any common auth kind; api_key_header names the header
      endpoints:                          # listings by name; "inventory" holds the endpoints
        collections: {path: /api/getAllCollections, method: POST, body: {}, items: apiCollections}
        inventory:
          path: /api/fetchApiInfosForCollection
          method: POST
          for_each: collections           # one request per item of that listing
          body: {apiCollectionId: "{collections.id}"}
          items: apiInfoList
      pagination: {strategy: none}        # or page, offset, token, cursor, start_key, next_link + names
      fields:                             # record meaning -> an expression over an item
        method: id.method                 # a dotted path (a step into a list maps over it)
        path: id.url
        host: "@collections.hostName"     # the item's parent in a for_each listing
        auth_type: allAuthTypesFound      # lists stay lists (nested lists are flattened)
        tags: {const: [akto]}             # a constant
        url: "https://{host}{path}"       # a template: {expression} of the item
        api_name: "displayName || name"   # any JMESPath expression (see sources/expressions.py)

A listing is a path (GET, the tool's pagination) or an object: ``path``, ``method``, ``params``, ``body``
(sent as JSON; the paging parameters then go into it), ``items`` (dotted path of the list in each page),
``pagination`` (overrides; ``params_in: query`` keeps paging out of a body), ``for_each`` (another
listing's name: the path, params and body are templates over its items, which the children carry as
``@name``), ``optional`` and ``count`` (a request for how many items the listing holds: fewer collected
is a truncated listing). Only ``inventory`` and the listings it is fetched for each item of are
required; when another fails, that is a warning. Values put into a path are URL-quoted.

A method, host or path that maps to a list gives one record per value. Without a mapped
``authenticated``, authentication is read from the auth types: an ``unauthenticated`` (or ``none``)
among them means the endpoint was called without credentials; a boolean says whether there is auth,
never a kind. Timestamps may be RFC 3339 or epoch seconds or milliseconds.

``RestProfile`` holds one tool's defaults; the Cequence adapter is this source with Cequence's.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson

from apiinv.errors import CollectionError, ConfigurationError, MalformedResponseError, did_you_mean
from apiinv.http.listing import pages
from apiinv.http.paginate import count_at
from apiinv.inventory.openapi import auth, operations, parse_document, security_schemes, servers
from apiinv.inventory.records import as_dict, as_list, as_text, make_record, risk_level
from apiinv.sources.base import Source
from apiinv.sources.expressions import Expression, ExpressionError, compile_expression, problem, value_at
from apiinv.sources.mapping import as_strings
from apiinv.timefmt import from_epoch_ms, from_epoch_s, from_rfc3339

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext

INVENTORY = "inventory"
# Every record meaning a mapping may fill. ``transactions`` is accepted (Cequence's defaults map it)
# but the record has no field for it.
MEANINGS = (
    "id",
    "api_name",
    "host",
    "base_path",
    "method",
    "path",
    "url",
    "active",
    "authenticated",
    "auth_type",
    "access_type",
    "sensitive_data",
    "risk_score",
    "risk_level",
    "first_seen",
    "last_seen",
    "environment",
    "owner",
    "tags",
    "transactions",
    "path_match",
)
LISTING_KEYS = (
    "path",
    "method",
    "params",
    "body",
    "items",
    "where",
    "each",
    "pagination",
    "for_each",
    "optional",
    "spec",
    "count",
)
PATH_MATCHES = ("exact", "prefix", "regex")
# What a child listing's templates read besides its parent's own name (so no listing takes these names).
CONTEXT = ("parent", "page", "root")
METHODS = ("GET", "POST")
AUTH_TYPES = {
    "apikey": "api_key",
    "api_key": "api_key",
    "oauth": "oauth2",
    "oauth2": "oauth2",
    "jwt": "jwt",
    "basic": "basic",
    "basic_auth": "basic",  # WSO2's securityScheme
    "bearer": "bearer",
    "mtls": "mtls",
    "mutualssl": "mtls",  # WSO2's securityScheme
}
NO_AUTH = frozenset({"unauthenticated", "none", "anonymous", "noauth", "no_auth"})
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_WHOLE = re.compile(r"^\{([^{}]+)\}$")
PATH_MARK = ":path"  # {expression:path}: a value that is a path of its own
_PCHAR = "!$&'()*+,;=:@"  # RFC 3986 pchar beyond unreserved: kept in a path value's segments
OPENAPI = "@openapi"  # an item's operations, read from its spec document


def _listing_schema() -> dict[str, Any]:
    return {
        "oneOf": [
            {"type": "string"},
            {"type": "null"},
            {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "method": {"enum": list(METHODS)},
                    "params": {"type": "object"},
                    "body": {"type": "object"},
                    "items": {"type": ["string", "null"]},
                    "where": {"type": "string"},
                    "each": {"type": "string"},
                    "pagination": {"type": "object"},
                    "for_each": {"type": "string"},
                    "optional": {"type": "boolean"},
                    "spec": {"type": "string"},
                    "count": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "at": {"type": ["string", "null"]}},
                        "required": ["path"],
                        "additionalProperties": False,
                    },
                },
                "required": ["path"],
                "additionalProperties": False,
            },
        ]
    }


SETTINGS_SCHEMA: dict[str, Any] = {
    "preset": {
        "description": "A shipped vendor description (apiinv/presets/NAME.yaml) under this entry's own keys.",
        "type": "string",
    },
    "role": {
        "description": "What the tool's data says: gateway, spec or traffic.",
        "enum": ["gateway", "spec", "traffic"],
    },
    "vendor": {
        "description": "The tool name its records carry (default: the tools.yaml name).",
        "type": "string",
    },
    "endpoints": {
        "description": "Listings by name (inventory holds the endpoints): a path, or an object.",
        "type": "object",
        "additionalProperties": _listing_schema(),
    },
    "pagination": {"description": "Pagination strategy and its parameter names.", "type": "object"},
    "fields": {
        "description": "Record meanings: a JMESPath expression (a dotted path, a {template}) or {const: x}.",
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {"const": {}},
                    "required": ["const"],
                    "additionalProperties": False,
                },
            ]
        },
    },
}


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    method: str = "GET"
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    items: str | None = None
    where: str | None = None
    each: str | None = None
    pagination: dict[str, Any] = field(default_factory=dict)
    for_each: str | None = None
    optional: bool = True
    spec: str | None = None  # an expression whose value is the item's OpenAPI document
    count: dict[str, Any] | None = None  # {path, at}: a request for how many items the listing holds


@dataclass(frozen=True)
class RestProfile:
    """One JSON-listing tool's defaults; tools.yaml's settings override each part."""

    vendor: str | None = None  # what records' ``tool`` says; None: the tools.yaml name
    role: str | None = None  # None: tools.yaml's ``role`` decides
    endpoints: dict[str, Any] = field(default_factory=dict)
    pagination: dict[str, Any] = field(default_factory=lambda: {"strategy": "none"})
    fields: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------------------------ settings

    def listings(self, settings: dict[str, Any]) -> list[Listing]:
        """The configured listings, parents before children; a listing set to null is dropped, and so
        is one whose for_each leads nowhere or in a cycle (settings_problems names it)."""
        declared = {**self.endpoints, **as_dict(settings.get("endpoints"))}
        shared = {**self.pagination, **as_dict(settings.get("pagination"))}
        # What the inventory is fetched for_each of is as needed as the inventory itself.
        needed: set[str] = set()
        parent = as_dict(declared.get(INVENTORY)).get("for_each")
        while isinstance(parent, str) and parent not in needed:
            needed.add(parent)
            parent = as_dict(declared.get(parent)).get("for_each")
        found: dict[str, Listing] = {}
        for name, spec in declared.items():
            if spec is None:
                continue
            spec = {"path": spec} if isinstance(spec, str) else dict(spec)
            own = {**shared, **as_dict(spec.get("pagination"))}
            found[name] = Listing(
                name=name,
                path=str(spec["path"]),
                method=str(spec.get("method") or "GET").upper(),
                params=as_dict(spec.get("params")),
                body=spec["body"] if isinstance(spec.get("body"), dict) else None,
                items=spec.get("items", own.get("items_key")),
                where=spec.get("where"),
                each=spec.get("each"),
                pagination={k: v for k, v in own.items() if k != "items_key"},
                for_each=spec.get("for_each"),
                optional=bool(spec.get("optional", name != INVENTORY and name not in needed)),
                spec=spec.get("spec"),
                count=spec["count"] if isinstance(spec.get("count"), dict) else None,
            )
        return [listing for wave in waves(list(found.values())) for listing in wave]

    def mapping(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {**self.fields, **as_dict(settings.get("fields"))}

    def settings_problems(self, settings: dict[str, Any]) -> list[str]:
        """What validate-config says of these settings before any collection fails on them."""
        from apiinv.http.paginate import PAGINATORS

        problems = []
        if self.role is None and settings.get("role") not in ("gateway", "spec", "traffic"):
            problems.append("role: missing; say what the tool's data is: gateway, spec or traffic")
        declared = {k: v for k, v in {**self.endpoints, **as_dict(settings.get("endpoints"))}.items() if v}
        if INVENTORY not in declared:
            problems.append("endpoints.inventory: missing; it is the listing that holds the endpoints")
        listings = self.listings(settings)
        for name, spec in declared.items():
            if name in CONTEXT:
                problems.append(f"endpoints.{name}: {name!r} names the context of child listings; rename it")
            parent = spec.get("for_each") if isinstance(spec, dict) else None
            if parent and parent not in declared:
                problems.append(
                    f"endpoints.{name}.for_each: no listing {parent!r}{did_you_mean(parent, declared)}"
                )
            elif parent and all(listing.name != name for listing in listings):
                problems.append(f"endpoints.{name}.for_each: the listings depend on each other in a cycle")
        shared = {**self.pagination, **as_dict(settings.get("pagination"))}
        own = [as_dict(spec.get("pagination")) for spec in declared.values() if isinstance(spec, dict)]
        for params_in in _distinct(p["params_in"] for p in (shared, *own) if "params_in" in p):
            if params_in not in ("body", "query"):
                problems.append(f"pagination.params_in: {params_in!r} is neither body nor query")
        problems += [
            f"endpoints.{listing.name}.count: counts a listing of its own only (no for_each, where or each)"
            for listing in listings
            if listing.count and (listing.for_each or listing.where or listing.each)
        ]
        problems += [
            f"endpoints.{listing.name}.pagination.size_param: null (ask no page size) is for next_link only"
            for listing in listings
            if "size_param" in listing.pagination
            and listing.pagination["size_param"] is None
            and listing.pagination.get("strategy", "none") not in ("next_link", "none")
        ]
        for relative_to in _distinct(p["relative_to"] for p in (shared, *own) if "relative_to" in p):
            if relative_to not in ("request", "base"):
                problems.append(f"pagination.relative_to: {relative_to!r} is neither request nor base")
        for strategy in _distinct(p["strategy"] for p in (shared, *own) if "strategy" in p):
            if strategy != "none" and not (isinstance(strategy, str) and strategy in PAGINATORS):
                problems.append(
                    f"pagination.strategy: unknown {strategy!r}{did_you_mean(str(strategy), PAGINATORS)} "
                    f"(known: none, {', '.join(sorted(PAGINATORS))})"
                )
        mapping = self.mapping(settings)
        unknown = sorted(set(mapping) - set(MEANINGS))
        if unknown:
            problems.append(f"fields: unknown meaning(s) {', '.join(unknown)} (known: {', '.join(MEANINGS)})")
        if not ({"path", "url"} & set(mapping)) and not any(listing.spec for listing in listings):
            problems.append("fields: map path or url, or no endpoint can be told apart")
        problems += [
            f"fields.{meaning}: {wrong}" for meaning, spec in mapping.items() if (wrong := problem(spec))
        ]
        return problems + [p for listing in listings for p in _expression_problems(listing)]

    def source(self, name: str, **declared: Any) -> Source:
        """The ``SOURCE`` of a tool type that is this profile: its role, raw shape and functions."""
        return Source(
            name=name,
            role=self.role,
            raw_shape={"endpoints": list},
            check=self.check,
            fetch=self.fetch,
            counts=self.counts,
            normalize=self.normalize,
            settings_problems=self.settings_problems,
            **declared,
        )

    # ------------------------------------------------------------------------------------- collect

    def check(self, client: HttpClient, tool: ToolConfig) -> str:
        """One request: the first listing that needs no other (the inventory, or what it is for_each of)."""
        probe = next((listing for listing in self.listings(tool.settings) if listing.for_each is None), None)
        if probe is None:
            raise ConfigurationError(f"{tool.name}: no listing to start from (see validate-config)")
        _request(client, probe, {}, page=False)
        return f"{probe.name} listing readable"

    def fetch(self, ctx: FetchContext) -> dict[str, Any]:
        listings = self.listings(ctx.tool.settings)
        fetched = _Fetched(parents={listing.name: listing.for_each for listing in listings})
        results = fetched.items
        for group in waves(listings):
            done = ctx.map(lambda listing: (listing, _fetch_listing(ctx, listing, fetched)), group)
            for listing, items in done:
                results[listing.name] = items
        inventory = results.get(INVENTORY, [])
        mapping = self.mapping(ctx.tool.settings)
        for meaning in _never_given(inventory, _compiled(mapping)) if inventory else []:
            ctx.warn(
                f"fields.{meaning}: {mapping[meaning]!r} is in none of the {len(inventory):,} endpoints; "
                "check the field mapping"
            )
        return {
            "vendor": self.vendor or ctx.tool.settings.get("vendor") or ctx.tool.name,
            "role": ctx.tool.role,
            "fields": mapping,
            "endpoints": inventory,
            "listings": {name: items for name, items in results.items() if name != INVENTORY},
        }

    def counts(self, raw: dict[str, Any]) -> dict[str, int]:
        listed = {name: len(as_list(items)) for name, items in as_dict(raw.get("listings")).items()}
        return {"endpoints": len(as_list(raw.get("endpoints"))), **listed}

    # ----------------------------------------------------------------------------------- normalize

    def normalize(self, raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
        data, instance, collected = as_dict(raw["data"]), raw["tool"], raw.get("collected_at")
        mapping = {**self.fields, **as_dict(data.get("fields"))}
        vendor = as_text(data.get("vendor")) or self.vendor or instance
        compiled = _compiled(mapping)
        for item in as_list(data.get("endpoints")):
            yield from _records(item, compiled, vendor=vendor, instance=instance, collected=collected)


# ------------------------------------------------------------------------------------------ requests


def _distinct(values: Iterable[Any]) -> list[Any]:
    """Each value once, in order, compared rather than hashed: a YAML list or mapping given where a word
    belongs is named as unknown, not a TypeError."""
    found: list[Any] = []
    for value in values:
        if value not in found:
            found.append(value)
    return found


def waves(listings: list[Listing]) -> list[list[Listing]]:
    """Listings in waves: each wave needs only listings of earlier waves, so a wave runs at once.
    A listing whose parent never comes (unknown, or a cycle) is left out."""
    done: set[str] = set()
    found = []
    remaining = list(listings)
    while wave := [listing for listing in remaining if listing.for_each is None or listing.for_each in done]:
        found.append(wave)
        done.update(listing.name for listing in wave)
        remaining = [listing for listing in remaining if listing.name not in done]
    return found


@dataclass
class _Fetched:
    """What the listings fetched so far brought: their items, the page each item came in (by the item's
    id, for the ``page`` of its children's templates; the item is held beside it, so its id stays its
    own) and each listing's parent listing."""

    parents: dict[str, str | None]
    items: dict[str, list[Any]] = field(default_factory=dict)
    pages: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    def scope(self, listing: Listing, parent: dict[str, Any]) -> dict[str, Any]:
        """What a child listing's templates read: its parent by name and as ``parent``, the page the
        parent came in, and ``root``, the first ancestor (an item of a listing of no other)."""
        root, name = parent, listing.for_each
        while (up := self.parents.get(name or "")) and isinstance(root.get(f"@{up}"), dict):
            root, name = root[f"@{up}"], up
        _, page = self.pages.get(id(parent), (None, None))
        return {str(listing.for_each): parent, "parent": parent, "page": page, "root": root}

    def kept(self, document: Any, items: list[Any]) -> list[Any]:
        for item in items:
            self.pages[id(item)] = (item, document)
        return items

    def replaced(self, items: list[Any], by: list[Any]) -> list[Any]:
        """``by``, the items made anew one for one (with their operations), in the pages of ``items``."""
        for old, new in zip(items, by, strict=True):
            self.pages[id(new)] = (new, self.pages.get(id(old), (None, None))[1])
        return by


def _fetch_listing(ctx: FetchContext, listing: Listing, fetched: _Fetched) -> list[Any]:
    try:
        if listing.for_each is None:
            items = [i for page, batch in _pages(ctx.client, listing, {}) for i in fetched.kept(page, batch)]
            if listing.count:
                _check_count(ctx.client, listing, _distinct_items(items))
            return fetched.replaced(items, _with_operations(ctx, listing, items))
        parents = [p for p in fetched.items.get(listing.for_each, []) if isinstance(p, dict)]
        key = f"@{listing.for_each}"

        def children(parent: dict[str, Any]) -> list[Any]:
            scope = fetched.scope(listing, parent)
            item = str(render(listing.path, scope, quote_values=True) or parent.get("id") or parent)[:200]

            def request() -> list[Any]:
                return [
                    child
                    for page, batch in _pages(ctx.client, listing, scope)
                    for child in fetched.kept(
                        page, [{**c, key: parent} if isinstance(c, dict) else c for c in batch]
                    )
                ]

            # One parent's listing that keeps failing costs that parent's children, not the tool.
            return ctx.per_item(listing.name, item, request) or []

        items = [child for batch in ctx.map(children, parents) for child in batch]
        return fetched.replaced(items, _with_operations(ctx, listing, items))
    except CollectionError as exc:
        if not listing.optional:
            raise
        ctx.warn(
            f"optional listing {listing.name} ({listing.path}) failed ({exc.message}); no record needs it"
        )
        return []


def _request(client: HttpClient, listing: Listing, scope: dict[str, Any], *, page: bool = True) -> list[Any]:
    return [item for _, items in _pages(client, listing, scope, page=page) for item in items]


def _pages(
    client: HttpClient, listing: Listing, scope: dict[str, Any], *, page: bool = True
) -> Iterator[tuple[Any, list[Any]]]:
    """Each page of ``listing`` for ``scope`` (a parent's values) with its items."""
    path = render(listing.path, scope, quote_values=True)
    if path is None:
        raise MalformedResponseError(
            f"listing {listing.name}: no usable value for {listing.path!r} in its parent item "
            "(missing, not a single value, or a path that climbs out of the template)",
            tool=client.tool.name,
        )
    params = render(listing.params, scope)
    body = render(listing.body, scope) if listing.body is not None else None
    options = dict(listing.pagination)
    strategy = options.pop("strategy", "none")
    if strategy == "none" or not page:
        document = client.request_json(listing.method, path, params=params or None, json=body)
        yield (
            document,
            _shaped(listing, client.items_of(document, listing.items, path, method=listing.method)),
        )
        return
    for document, items in pages(
        client,
        path,
        strategy=strategy,
        items_key=listing.items,
        params=params,
        method=listing.method,
        body=body,
        **options,
    ):
        yield document, _shaped(listing, items)


def _distinct_items(items: list[Any]) -> int:
    """How many different items a listing brought: offset pages that shift while they are read (one
    item added before the offset) repeat an item and skip another, and the repeat must not make up for
    the one skipped."""
    return len({orjson.dumps(item, option=orjson.OPT_SORT_KEYS, default=str) for item in items})


def _check_count(client: HttpClient, listing: Listing, collected: int) -> None:
    """Mark the listing truncated when its count answers more items than its pages brought (a page cut
    short reads as the listing's end to offset paging), or cannot be read. The count's path is relative
    to the listing's unless it starts with /; it is sent the listing's method, params and body."""
    spec = listing.count or {}
    own = str(spec["path"])
    path = own if own.startswith("/") else f"{listing.path.rstrip('/')}/{own}"
    try:
        document = client.request_json(listing.method, path, params=listing.params or None, json=listing.body)
    except CollectionError as exc:
        client.stats.stopped(f"count unreadable: {exc.message}", truncated=listing.path)
        return
    total = count_at(document, spec.get("at"))
    if total is None:
        client.stats.stopped(f"count answered no number at {spec.get('at')!r}", truncated=listing.path)
    elif collected < total:
        client.stats.stopped(f"{collected} of the {total} items its count gives", truncated=listing.path)


def _shaped(listing: Listing, items: list[Any]) -> list[Any]:
    """The items ``where`` keeps; with ``each``, the elements of that list in each of them instead, each
    carrying its item as ``@listing`` (WSO2: one API, its operations)."""
    if listing.where:
        where = compile_expression(listing.where)
        items = [item for item in items if _true(where.search(item))]
    if not listing.each:
        return items
    key = f"@{listing.name}"
    return [
        {**element, key: item}
        for item in items
        for element in as_list(value_at(item, listing.each))
        if isinstance(element, dict)
    ]


def _true(value: Any) -> bool:
    """JMESPath's truth: false, null and empty texts, lists and objects are false (0 is true)."""
    return (
        value is not None and value is not False and not (isinstance(value, str | list | dict) and not value)
    )


def render(template: Any, scope: dict[str, Any], *, quote_values: bool = False) -> Any:
    """``template`` with each ``{expression}`` filled from ``scope``. A string that is one placeholder
    keeps the value's type (an id stays a number). In a path every value is one URL-quoted segment, so
    a vendor's value can never add one; ``{expression:path}`` marks a value that is a path (Azure
    addresses children by their parent's id), normalised and refused when it climbs above its start.
    A placeholder with no usable value makes the whole string None."""
    if isinstance(template, dict):
        return {key: render(value, scope, quote_values=quote_values) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, scope, quote_values=quote_values) for value in template]
    if not isinstance(template, str) or "{" not in template:
        return template
    whole = _WHOLE.match(template)
    if whole and not quote_values:
        return value_at(scope, _expression(whole.group(1)))
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        placeholder = match.group(1).strip()
        value = value_at(scope, _expression(placeholder))
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if value is None or isinstance(value, dict | list):
            missing = True
            return ""
        if not quote_values:
            return text
        segment = _path_value(text) if placeholder.endswith(PATH_MARK) else _segment(text)
        if segment is None:
            missing = True
            return ""
        # A path value's own leading slash joins the template's: /{id:path} never gives //subscriptions.
        start = match.start()
        return segment[1:] if segment.startswith("/") and template[:start].endswith("/") else segment

    filled = _PLACEHOLDER.sub(fill, template)
    return None if missing else filled


def _expression(placeholder: str) -> str:
    """A placeholder's expression, without the ``:path`` mark."""
    placeholder = placeholder.strip()
    return placeholder[: -len(PATH_MARK)].strip() if placeholder.endswith(PATH_MARK) else placeholder


def _segment(text: str) -> str | None:
    # "." and ".." would climb out of the template once the URL is normalised: refused, never sent.
    return None if text in (".", "..") else quote(text, safe="")


def _path_value(text: str) -> str | None:
    """A value that is a path: each segment quoted (RFC 3986 pchar kept), dot segments resolved, and
    None when they climb above the value's start or leave nothing."""
    kept: list[str] = []
    for segment in text.split("/"):
        if segment == "..":
            if not kept:
                return None
            kept.pop()
        elif segment not in ("", "."):
            kept.append(quote(segment, safe=_PCHAR))
    if not kept:
        return None
    return ("/" if text.startswith("/") else "") + "/".join(kept)


def _with_operations(ctx: FetchContext, listing: Listing, items: list[Any]) -> list[Any]:
    """Items of a listing with ``spec``, each with the operations its OpenAPI document declares (under
    ``@openapi``; an item whose document is bad has none, and is a warning and a failed item)."""
    if listing.spec is None:
        return items
    expression = compile_expression(listing.spec)
    found, without = [], 0
    for item in items:
        document = expression.search(item)
        if document is None or document is False or document == "":
            without += 1
            found.append({**item, OPENAPI: None} if isinstance(item, dict) else item)
            continue
        label = _label(item)
        what = f"listing {listing.name}: item {label}: spec"
        # A document that cannot be read is that item's failure, named (and warned of) by per_item.
        described = ctx.per_item(listing.name, label, partial(_described, document, what))
        found.append({**item, OPENAPI: described} if isinstance(item, dict) else item)
    if without:
        ctx.warn(f"listing {listing.name}: {without:,} of {len(items):,} items have no {listing.spec!r}")
    return found


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("id", "name", "uid"):
            if isinstance(item.get(key), str | int):
                return str(item[key])[:200]
        name = as_dict(item.get("metadata")).get("name")
        if isinstance(name, str):
            return name[:200]
    return str(item)[:200]


def _described(document: Any, what: str) -> dict[str, Any]:
    """The parts of an OpenAPI document (text or object) a record needs: servers and operations."""
    if isinstance(document, str):
        document = parse_document(document, what)
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise MalformedResponseError(f"{what}: not an OpenAPI document (no paths)")
    schemes = security_schemes(document)
    everywhere = [list(s) for s in servers(document)]
    found = []
    for path, method, operation, path_item in operations(document):
        security = operation.get("security", document.get("security"))
        required, kinds = auth(security, schemes) if security is not None else (None, [])
        own = [list(s) for s in servers(document, path_item, operation)]
        found.append(
            {
                "method": method.upper(),
                "path": path,
                "authenticated": required,
                "auth_types": kinds,
                **({"servers": own} if own != everywhere else {}),
            }
        )
    return {"servers": everywhere, "operations": found}


# ------------------------------------------------------------------------------------------ records


def _expression_problems(listing: Listing) -> list[str]:
    """What does not compile among a listing's placeholders and its spec expression."""
    problems = [
        f"endpoints.{listing.name}.{part}: {{{placeholder}}}: {wrong}"
        for part in ("path", "params", "body")
        for placeholder in _placeholders(getattr(listing, part))
        if (wrong := problem(placeholder))
    ]
    problems += [
        f"endpoints.{listing.name}.{part}: {wrong}"
        for part in ("where", "each", "spec")
        if getattr(listing, part) is not None and (wrong := problem(getattr(listing, part)))
    ]
    return problems


def _placeholders(template: Any) -> list[str]:
    """The ``{...}`` placeholders of a listing's path, params or body."""
    if isinstance(template, dict):
        return [p for value in template.values() for p in _placeholders(value)]
    if isinstance(template, list):
        return [p for value in template for p in _placeholders(value)]
    return [_expression(p) for p in _PLACEHOLDER.findall(template)] if isinstance(template, str) else []


def _compiled(mapping: dict[str, Any]) -> dict[str, Expression]:
    """The mapping's expressions, each compiled once. One that cannot be (validate-config names it
    before any collection; a raw file may still hold one) maps to nothing."""
    compiled = {}
    for meaning, spec in mapping.items():
        with contextlib.suppress(ExpressionError):
            compiled[meaning] = compile_expression(spec)
    return compiled


def _never_given(items: list[Any], mapping: dict[str, Expression]) -> list[str]:
    """Meanings whose expression gives nothing for any item: a mapping that points nowhere."""
    remaining = {meaning: e for meaning, e in mapping.items() if not e.constant}
    for item in items:
        remaining = {meaning: e for meaning, e in remaining.items() if e.search(item) is None}
        if not remaining:
            break
    return sorted(remaining)


def _records(
    item: Any, mapping: dict[str, Expression], *, vendor: str, instance: str, collected: str | None
) -> Iterator[dict[str, Any]]:
    def get(meaning: str) -> Any:
        return mapping[meaning].search(item) if meaning in mapping else None

    host, path = get("host"), get("path")
    url = as_text(get("url"))
    if url:
        parts = urlsplit(url)
        if parts.netloc and host is None:
            host = parts.hostname
        if path is None or path == url:
            path = parts.path if parts.netloc else url
    auth_types, auth_required = _auth(get("auth_type"), get("authenticated"))
    access = [a.lower() for a in as_strings(_flat(get("access_type")))]
    active = get("active")
    common: dict[str, Any] = {
        "api_id": as_text(get("id")),
        "api_name": as_text(get("api_name")),
        "base_path": as_text(get("base_path")) or "",
        "status": "inactive" if active is False or str(active).lower() in ("false", "inactive") else "active",
        "auth_required": auth_required,
        "auth_types": auth_types,
        "sensitive_data": list(dict.fromkeys(as_strings(_flat(get("sensitive_data"))))),
        "risk_score": _number(get("risk_score")),
        "risk_level": risk_level(get("risk_level")),
        "first_seen": _moment(get("first_seen")),
        "last_seen": _moment(get("last_seen")),
        "environment": as_text(get("environment")),
        "owner": as_text(get("owner")),
        "tags": sorted({*as_strings(_flat(get("tags"))), *(f"access:{a}" for a in access)}),
    }
    # An unknown kind stays as given: validation rejects the record naming it, never a silent "exact".
    match = as_text(get("path_match"))
    path_match = (match.lower() if match.lower() in PATH_MATCHES else match) if match else "exact"
    hosts, paths = _each(host), list(dict.fromkeys(as_text(p) for p in _each(path)))
    if isinstance(item, dict) and OPENAPI in item:
        for one in _spec_records(as_dict(item[OPENAPI]), common, hosts):
            yield make_record(tool=vendor, instance=instance, collected_at=collected, **one)
        return
    for method in _each(get("method")):
        for one_host in hosts:
            for one_path in paths:
                yield make_record(
                    tool=vendor,
                    instance=instance,
                    collected_at=collected,
                    host=one_host,
                    method=method,
                    path=one_path,
                    path_match=path_match,
                    **common,
                )


def _spec_records(
    described: dict[str, Any], common: dict[str, Any], hosts: list[Any]
) -> Iterator[dict[str, Any]]:
    """A record's parts for each operation of an item's OpenAPI document: its servers' hosts and base
    paths, else the item's; its declared security, else the item's auth."""
    for operation in map(as_dict, as_list(described.get("operations"))):
        own = dict(common)
        if isinstance(operation.get("authenticated"), bool):
            own["auth_required"] = operation["authenticated"]
            own["auth_types"] = as_strings(operation.get("auth_types"))
        for scheme, server_host, base in as_list(operation.get("servers") or described.get("servers")):
            for one_host in [server_host] if server_host else hosts:
                yield {
                    **own,
                    "scheme": scheme or "https",
                    "host": one_host,
                    "base_path": base or common["base_path"],
                    "method": operation.get("method"),
                    "path": operation.get("path"),
                }


def _each(value: Any) -> list[Any]:
    """A list-valued method, host or path as its values (one record each); a single value (or none) as one."""
    if isinstance(value, list):
        values = [v for v in _flat(value) if isinstance(v, str) and v.strip()]
        return values or [None]
    return [value]


def _flat(value: Any) -> Any:
    """Nested lists as one list (Akto's auth types are a list of combinations)."""
    if not isinstance(value, list):
        return value
    return [x for v in value for x in (_flat(v) if isinstance(v, list) else [v])]


def _auth(types: Any, authenticated: Any) -> tuple[list[str], bool | None]:
    # A boolean says whether there is auth, never the name of a kind ("true" once counted as one).
    flat = _flat(types)
    if isinstance(flat, bool):
        flat, authenticated = None, flat if authenticated is None else authenticated
    kinds = [t for t in flat if not isinstance(t, bool)] if isinstance(flat, list) else flat
    seen = {t.lower() for t in as_strings(kinds)}
    real = sorted({AUTH_TYPES.get(t, t) for t in seen - NO_AUTH})
    if isinstance(authenticated, bool):
        return real, authenticated
    if seen & NO_AUTH:
        return real, False  # it was called without credentials, whatever else it accepts
    return real, (True if real else None)


def _moment(value: Any) -> str | None:
    """RFC 3339, or epoch seconds or milliseconds (a number or a string of digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        number = float(value)
        return from_epoch_ms(int(number)) if number > 1e11 else from_epoch_s(number)
    return from_rfc3339(value) if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    """A score of 0 to 100, or None: an odd value is dropped, never the endpoint that carries it."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number <= 100 else None


# ----------------------------------------------------------------------- the ``rest`` type itself

PROFILE = RestProfile()
SOURCE = PROFILE.source(
    "rest",
    defaults={"auth_type": "api_key", "page_size": 100},
    settings_schema=SETTINGS_SCHEMA,
    required_settings=("role",),
    simulator="apiinv.sandbox.rest",
)
