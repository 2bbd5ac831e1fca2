"""Pagination strategies, chosen by name in a source or in tools.yaml.

A paginator gives the query parameters of the first page, then, from each page, those of the next
one or None; when it returns None, ``stop_reason`` says why (empty page, short page, no next token,
a repeated token, ...). The client enforces the page cap.
"""

from __future__ import annotations

from typing import Any, ClassVar


def dig(document: Any, dotted: str | None) -> Any:
    """The value at a dotted path such as ``meta.next`` (None when any step is missing)."""
    if not dotted:
        return document
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


def count_at(document: Any, key: str | None) -> int | None:
    """A page or item count the answer gives at ``key`` (a number or a string of digits), else None."""
    value = dig(document, key) if key else None  # dig(doc, None) is the whole doc
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Paginator:
    name: ClassVar[str]

    def __init__(self, page_size: int, **options: Any) -> None:
        self.page_size = page_size
        self.options = options
        self.stop_reason: str | None = None
        self.warning = False
        #: The listing stopped before its end (a cycling server): what it gave is not all there is.
        self.truncated = False
        #: A URL the server gave for the next page, when next() returned {} instead of parameters.
        self.next_url: str | None = None

    def opt(self, key: str, default: Any) -> Any:
        return self.options.get(key) or default

    def undeclared(self, document: Any, *keys: str) -> str | None:
        """The first of the count keys the listing declares (``pages_key``, ``total_key``) that the
        answer does not give: without it the listing cannot know it is whole."""
        return next(
            (
                self.options[k]
                for k in keys
                if self.options.get(k) and count_at(document, self.options[k]) is None
            ),
            None,
        )

    def empty_but_continued(self, what: str) -> dict[str, Any] | None:
        """An empty page whose answer still gives a next ``what``: the end of what was read, but nothing
        says it is the end of the listing (some servers page past empty pages)."""
        return self.stop(f"empty page that still gives a next {what}", truncated=True)

    def first(self) -> dict[str, Any]:
        raise NotImplementedError

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def keep(self, items: list[Any]) -> list[Any]:
        """Items of a page that are new (start_key drops the repeated first one)."""
        return items

    def stop(self, reason: str, *, warning: bool = False, truncated: bool = False) -> dict[str, Any] | None:
        """Record why pagination ends; returns None, so ``return self.stop(...)`` ends a ``next``."""
        self.stop_reason = reason
        self.warning = warning or truncated
        self.truncated = truncated
        return None

    def _repeated(self, token: Any, seen: set[Any]) -> bool:
        if token in seen:
            # Where a cycling server would have gone next is unknown: the listing is named truncated.
            self.stop(f"repeated token {str(token)[:40]!r}: the server is cycling", truncated=True)
            return True
        seen.add(token)
        return False


class PageNumberPaginator(Paginator):
    """page / perPage (42Crunch style). With ``pages_key`` (the page count) or ``total_key`` (the item
    count) in the answer, paging ends when those say so: a server that pages by its own smaller size
    is followed to the end, and a listing that ends before them is truncated."""

    name = "page"

    def first(self) -> dict[str, Any]:
        self._page = int(self.options.get("first_page", 1))
        self._seen = 0
        return self._params()

    def _params(self) -> dict[str, Any]:
        return {self.opt("page_param", "page"): self._page, self.opt("size_param", "perPage"): self.page_size}

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        self._seen += len(items)
        if missing := self.undeclared(document, "pages_key", "total_key"):
            return self.stop(f"no {missing!r} in an answer, which the listing counts on", truncated=True)
        pages = count_at(document, self.options.get("pages_key"))
        total = count_at(document, self.options.get("total_key"))
        last = int(self.options.get("first_page", 1)) + pages - 1 if pages is not None else None
        if total is not None and self._seen >= total:
            return self.stop("total reached")
        if last is not None and self._page >= last:
            return self._stop_at_end(total, f"last page {pages}")
        if not items:
            return self._stop_at_end(total if last is None else None, "empty page", before=last)
        if len(items) < self.page_size and pages is None and total is None:
            return self.stop("short page")
        self._page += 1
        return self._params()

    def _stop_at_end(
        self, total: int | None, reason: str, *, before: int | None = None
    ) -> dict[str, Any] | None:
        """The listing's end: truncated when the answer's own counts promised more."""
        if total is not None and self._seen < total:
            return self.stop(f"{reason} with {self._seen} of {total} items", truncated=True)
        if before is not None:
            return self.stop(f"{reason} before the last page {before}", truncated=True)
        return self.stop(reason)


class OffsetPaginator(Paginator):
    """offset / limit."""

    name = "offset"

    def first(self) -> dict[str, Any]:
        self._offset = 0
        return {self.opt("offset_param", "offset"): 0, self.opt("size_param", "limit"): self.page_size}

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        if missing := self.undeclared(document, "total_key"):
            return self.stop(f"no {missing!r} in an answer, which the listing counts on", truncated=True)
        total = count_at(document, self.options.get("total_key"))
        if not items:
            if total is not None and self._offset < total:
                return self.stop(f"empty page with {self._offset} of {total} items", truncated=True)
            return self.stop("empty page")
        self._offset += len(items)
        if total is not None and self._offset >= total:
            return self.stop("total reached")
        if total is None and len(items) < self.page_size:
            return self.stop("short page")
        return {
            self.opt("offset_param", "offset"): self._offset,
            self.opt("size_param", "limit"): self.page_size,
        }


class TokenPaginator(Paginator):
    """pageToken / nextPageToken (Google style)."""

    name = "token"

    def first(self) -> dict[str, Any]:
        self._seen: set[Any] = set()
        return {self.opt("size_param", "pageSize"): self.page_size}

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        token = dig(document, self.opt("token_key", "nextPageToken"))
        if not token:
            return self.stop("no next token")
        if not items:
            return self.empty_but_continued("token")
        if self._repeated(token, self._seen):
            return None
        return {
            self.opt("size_param", "pageSize"): self.page_size,
            self.opt("token_param", "pageToken"): token,
        }


class CursorPaginator(TokenPaginator):
    """A cursor taken from a JSON field (``cursor_key``) and sent back as ``cursor_param``; with a
    ``total_key`` (Backstage's ``totalItems``) a chain of cursors that ends short of it is truncated."""

    name = "cursor"

    def first(self) -> dict[str, Any]:
        self._seen = set()
        self._items = 0
        return {self.opt("size_param", "limit"): self.page_size}

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        self._items += len(items)
        if missing := self.undeclared(document, "total_key"):
            return self.stop(f"no {missing!r} in an answer, which the listing counts on", truncated=True)
        cursor = dig(document, self.opt("cursor_key", "cursor"))
        total = count_at(document, self.options.get("total_key"))
        if not cursor and total is not None and self._items < total:
            return self.stop(f"no next cursor with {self._items} of {total} items", truncated=True)
        if not cursor:
            return self.stop("no next cursor")
        if not items:
            return self.empty_but_continued("cursor")
        if self._repeated(cursor, self._seen):
            return None
        return {self.opt("size_param", "limit"): self.page_size, self.opt("cursor_param", "cursor"): cursor}


class StartKeyPaginator(Paginator):
    """Apigee ``count`` + ``startKey``: the next page starts at the last key and repeats it first."""

    name = "start_key"

    def first(self) -> dict[str, Any]:
        self._seen: set[Any] = set()
        self._start: Any = None
        return {self.opt("size_param", "count"): self.page_size}

    def _key(self, item: Any) -> Any:
        return item.get(self.opt("key_field", "name")) if isinstance(item, dict) else item

    def keep(self, items: list[Any]) -> list[Any]:
        if self._start is not None and items and self._key(items[0]) == self._start:
            return items[1:]
        return items

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        if not items:
            return self.stop("empty page")
        if len(items) < self.page_size:
            return self.stop("short page")
        last = self._key(items[-1])
        if self._repeated(last, self._seen):
            return None
        self._start = last
        return {self.opt("size_param", "count"): self.page_size, self.opt("start_param", "startKey"): last}


class NextLinkPaginator(Paginator):
    """Kong: ``next`` (a path or URL) and ``offset`` (an opaque token); either one continues."""

    name = "next_link"

    def first(self) -> dict[str, Any]:
        self._seen: set[Any] = set()
        return self._size()

    def _size(self) -> dict[str, Any]:
        """The page size asked for, unless ``size_param`` is null: a listing that takes none (the next
        links carry the server's own)."""
        if "size_param" in self.options and self.options["size_param"] is None:
            return {}
        return {self.opt("size_param", "size"): self.page_size}

    def next(self, document: Any, items: list[Any]) -> dict[str, Any] | None:
        link = dig(document, self.opt("next_key", "next"))
        token = dig(document, self.opt("offset_key", "offset"))
        if not link and not token:
            return self.stop("no next link")
        if not items:
            return self.empty_but_continued("link")
        if self._repeated(token or link, self._seen):
            return None
        if token:
            # The offset keeps our page size; Kong's own next link would fall back to its default.
            self.next_url = None
            return {**self._size(), self.opt("offset_param", "offset"): token}
        self.next_url = link
        return {}


PAGINATORS: dict[str, type[Paginator]] = {
    cls.name: cls
    for cls in (
        PageNumberPaginator,
        OffsetPaginator,
        TokenPaginator,
        CursorPaginator,
        StartKeyPaginator,
        NextLinkPaginator,
    )
}


def make_paginator(name: str, page_size: int, **options: Any) -> Paginator:
    try:
        cls = PAGINATORS[name]
    except KeyError:
        raise ValueError(f"unknown pagination {name!r} (known: {', '.join(sorted(PAGINATORS))})") from None
    return cls(page_size, **options)
