"""Listings: a paginator's pages fetched one after another within the page cap, and each page's items
checked to be the list the listing promised."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urljoin

from apiinv.errors import MalformedResponseError
from apiinv.http.paginate import Paginator, dig, make_paginator
from apiinv.http.stats import RequestStats
from apiinv.logs import get_logger
from apiinv.redact import redact_url

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

log = get_logger("http")


class JsonClient(Protocol):
    """What a listing needs of the client: the tool, its counts, and JSON answers."""

    tool: ToolConfig
    stats: RequestStats

    def url(self, path: str) -> str: ...

    def request_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any: ...


def pages(
    client: JsonClient,
    path: str,
    *,
    strategy: str | Paginator,
    items_key: str | None,
    params: dict[str, Any] | None = None,
    page_size: int | None = None,
    max_pages: int | None = None,
    absent_ok: bool = False,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[tuple[Any, list[Any]]]:
    """Each page's document with the items kept of it: the items ``HttpClient.paginate`` yields, each
    with the page whose other fields a child listing may read."""
    tool = client.tool
    paginator = (
        strategy
        if isinstance(strategy, Paginator)
        else make_paginator(strategy, page_size or tool.page_size, **options)
    )
    cap = max_pages or tool.max_pages
    base_params = dict(params or {})
    page_params: dict[str, Any] | None = paginator.first()
    next_url: str | None = None
    # A relative next link is resolved against the URL it came in (RFC 3986), or with
    # ``relative_to: base`` against the API's base URL (links relative to a versioned API root).
    from_base = paginator.options.get("relative_to") == "base"
    current = client.url(path)
    fetched, truncated = 0, False
    where = f"{method} {redact_url(client.url(path))}"
    # A listing sent a body takes its paging there, unless the API reads it from the query beside the
    # body (Wallarm's endpoint listing: a filter in the body, limit and offset in the query).
    in_body = body is not None and paginator.options.get("params_in", "body") == "body"
    while page_params is not None:
        if fetched >= cap:
            paginator.stop(f"page cap {cap} reached", warning=True)
            truncated = True
            break
        target = path
        if next_url:
            target = client.url(next_url) if from_base else urljoin(current, next_url)
        query = base_params if in_body else None if next_url else {**base_params, **page_params}
        current = client.url(target) + (f"?{urlencode(query, doseq=True)}" if query else "")
        if body is None:
            document = client.request_json(method, target, params=query)
        else:
            sent = {**body, **page_params} if in_body else body
            document = client.request_json(method, target, params=query, json=sent)
        items = items_of(document, items_key, where, tool.name, absent_ok=absent_ok)
        fetched += 1
        client.stats.add("pages")
        kept = paginator.keep(items)
        if kept:
            yield document, kept
        page_params = paginator.next(document, items)
        next_url = paginator.next_url if page_params == {} else None
    reason = paginator.stop_reason or "done"
    client.stats.stopped(reason, truncated=path if truncated or paginator.truncated else None)
    level = log.warning if paginator.warning else log.debug
    level("pagination of %s stopped after %d page(s): %s", path, fetched, reason, extra={"tool": tool.name})


def items_of(
    document: Any, items_key: str | None, where: str, tool: str, *, absent_ok: bool = False
) -> list[Any]:
    """The list a listing answered at ``items_key``; a 200 of the wrong shape (no such key, not a
    list, not an object) is the vendor's fault, never an empty inventory. ``where`` names the request."""
    if items_key and not isinstance(document, dict):
        raise MalformedResponseError(
            f"{where}: expected an object with {items_key!r}, got {type(document).__name__}", tool=tool
        )
    items = dig(document, items_key)
    if items is None and items_key and absent_ok:
        return []
    if not isinstance(items, list):
        found = "nothing" if items is None else type(items).__name__
        raise MalformedResponseError(
            f"{where}: expected a list at {items_key or 'the top level'}, got {found}", tool=tool
        )
    return items
