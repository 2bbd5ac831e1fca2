"""Each pagination strategy on recorded vendor answers: the parameters it asks for next, and why it stops."""

from __future__ import annotations

import pytest

from apiinv.http.paginate import PAGINATORS, dig, make_paginator


def walk(
    name: str, pages: list[dict], page_size: int, **options
) -> tuple[list[dict | None], list, str | None]:
    """Feed recorded answers to a paginator: the parameters of each request, the items kept, the stop."""
    paginator = make_paginator(name, page_size, **options)
    asked: list[dict | None] = [paginator.first()]
    kept: list = []
    for document in pages:
        items = dig(document, options.get("items_key", "items"))
        kept += paginator.keep(items)
        following = paginator.next(document, items)
        asked.append(following)
        if following is None:
            break
    return asked, kept, paginator.stop_reason


def test_page_numbers_42crunch() -> None:
    pages = [{"list": [1, 2]}, {"list": [3, 4]}, {"list": [5]}]
    asked, kept, stop = walk("page", pages, 2, items_key="list")
    assert asked == [{"page": 1, "perPage": 2}, {"page": 2, "perPage": 2}, {"page": 3, "perPage": 2}, None]
    assert (kept, stop) == ([1, 2, 3, 4, 5], "short page")


def test_offset_with_a_total_cequence() -> None:
    pages = [{"items": [1, 2], "total": 4}, {"items": [3, 4], "total": 4}]
    asked, kept, stop = walk("offset", pages, 2, total_key="total")
    assert asked == [{"offset": 0, "limit": 2}, {"offset": 2, "limit": 2}, None]
    assert (kept, stop) == ([1, 2, 3, 4], "total reached")


def test_offset_without_a_total_stops_on_a_short_page() -> None:
    """Without total_key the page's other fields are no total: a short page ends the listing."""
    pages = [{"items": [1, 2], "count": 3}, {"items": [3], "count": 3}, {"items": [4]}]
    asked, kept, stop = walk("offset", pages, 2)
    assert asked == [{"offset": 0, "limit": 2}, {"offset": 2, "limit": 2}, None]
    assert (kept, stop) == ([1, 2, 3], "short page")


def test_page_tokens_google() -> None:
    pages = [{"items": ["a"], "nextPageToken": "t2"}, {"items": ["b"], "nextPageToken": ""}]
    asked, kept, stop = walk("token", pages, 1)
    assert asked == [{"pageSize": 1}, {"pageSize": 1, "pageToken": "t2"}, None]
    assert (kept, stop) == (["a", "b"], "no next token")


def test_a_cycling_token_stops_with_a_warning() -> None:
    pages = [{"items": ["a"], "nextPageToken": "same"}, {"items": ["a"], "nextPageToken": "same"}]
    _, _, stop = walk("token", pages, 1)
    assert stop and stop.startswith("repeated token 'same'")


def test_a_cursor_in_a_nested_field() -> None:
    pages = [{"items": [1], "meta": {"next": "c2"}}, {"items": [2], "meta": {"next": None}}]
    asked, kept, stop = walk("cursor", pages, 1, cursor_key="meta.next")
    assert asked == [{"limit": 1}, {"limit": 1, "cursor": "c2"}, None]
    assert (kept, stop) == ([1, 2], "no next cursor")


def test_start_key_apigee_drops_the_repeated_first_item() -> None:
    pages = [
        {"apiProduct": [{"name": "a"}, {"name": "b"}]},
        {"apiProduct": [{"name": "b"}, {"name": "c"}]},
        {"apiProduct": [{"name": "c"}]},
    ]
    asked, kept, stop = walk("start_key", pages, 2, items_key="apiProduct")
    assert asked[:3] == [{"count": 2}, {"count": 2, "startKey": "b"}, {"count": 2, "startKey": "c"}]
    assert [item["name"] for item in kept] == ["a", "b", "c"] and stop == "short page"


def test_next_links_kong_prefer_the_offset_token() -> None:
    pages = [
        {"data": [1], "offset": "o2", "next": "/services?offset=o2"},
        {"data": [2], "offset": None, "next": None},
    ]
    asked, kept, stop = walk("next_link", pages, 1, items_key="data")
    assert asked == [{"size": 1}, {"size": 1, "offset": "o2"}, None]
    assert (kept, stop) == ([1, 2], "no next link")


CONTINUED = {"token": "token", "cursor": "cursor", "next_link": "link"}


@pytest.mark.parametrize("name", sorted(PAGINATORS))
def test_an_empty_first_page_ends_every_strategy(name: str) -> None:
    """An empty page ends the listing; when its answer still gives a way on, the listing is truncated:
    nothing says it is whole."""
    document = {"items": [], "nextPageToken": "t", "cursor": "c", "next": "/x", "offset": "o"}
    asked, kept, stop = walk(name, [document], 10)
    assert asked[-1] is None and kept == []
    assert stop == (
        f"empty page that still gives a next {CONTINUED[name]}" if name in CONTINUED else "empty page"
    )


@pytest.mark.parametrize(
    ("name", "key"), [("page", "pages_key"), ("page", "total_key"), ("offset", "total_key")]
)
def test_a_page_without_the_count_the_listing_counts_on_is_truncated(name: str, key: str) -> None:
    paginator = make_paginator(name, 2, **{key: "meta.total"})
    paginator.first()
    assert paginator.next({"items": [1, 2], "meta": {}}, [1, 2]) is None
    assert (
        paginator.truncated
        and paginator.stop_reason == "no 'meta.total' in an answer, which the listing counts on"
    )


def test_an_unknown_strategy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown pagination 'pages' .*known: cursor, next_link, offset"):
        make_paginator("pages", 10)


def test_a_cursor_chain_that_ends_short_of_its_total_is_truncated() -> None:
    """Backstage answers totalItems beside pageInfo.nextCursor: a chain that ends before all arrived is
    no end."""
    pages = [
        {"items": [1, 2], "totalItems": 5, "pageInfo": {"nextCursor": "c2"}},
        {"items": [3, 4], "totalItems": 5, "pageInfo": {}},
    ]
    _, kept, stop = walk("cursor", pages, 2, cursor_key="pageInfo.nextCursor", total_key="totalItems")
    assert kept == [1, 2, 3, 4] and stop == "no next cursor with 4 of 5 items"
    whole = [*pages[:1], {"items": [3, 4, 5], "totalItems": 5, "pageInfo": {}}]
    assert (
        walk("cursor", whole, 2, cursor_key="pageInfo.nextCursor", total_key="totalItems")[2]
        == "no next cursor"
    )
