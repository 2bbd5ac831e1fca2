"""The wallarm preset, collected over HTTP with the tools.yaml entry docs/sources.md shows, from an
imitation of Wallarm's API reference (apiinv/sandbox/wallarm.py), and compared with its truth: every
endpoint, its host, status, auth and sensitive data; a listing cut short is truncated, never ok.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.presets.collecting import collected, validated, write_config

CLIENT_ID = 12345  # the client id of the docs' example
TOKEN = "wallarm-api-token"


def docs_entry(url: str) -> dict[str, Any]:
    """The Wallarm example of docs/sources.md, pointed at ``url``."""
    page = (Path(__file__).parents[2] / "docs" / "sources.md").read_text()
    block = page.split("# Wallarm: written from", 1)[1].split("```", 1)[0].split("\n", 1)[1]
    entry = yaml.safe_load(block)["wallarm"]
    return {**entry, "api_base_url": url}


def collect(tmp_path: Path, entry: dict[str, Any], **overrides: Any):
    folder = validated(write_config(tmp_path / "cfg", {"wallarm": entry}, {"WALLARM_API_TOKEN": TOKEN}))
    return collected(folder, "wallarm", tmp_path, max_retries=0, **overrides)[:2]


def rows(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["method"], r["host"], r["path"], r["status"], r["auth_required"], tuple(r["sensitive_data"]))
        for r in records
    )


def test_wallarm_api_discovery_is_collected_whole_page_after_page(tmp_path: Path) -> None:
    """230 endpoints in pages of 100 (limit and offset in the query, the client's filter in the body):
    every endpoint on its domain at its path with its sensitive data groups, those no longer actual
    inactive, auth unknown; the token was checked and the count asked."""
    import requests

    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.wallarm import LISTING, WallarmApi, endpoints, truth

    listed = endpoints(230, client_id=CLIENT_ID)
    app = WallarmApi(listed, token=TOKEN, client_id=CLIENT_ID)
    with SimServer(app) as server:
        outcome, records = collect(tmp_path, docs_entry(server.url))
        listing = LISTING.format(client_id=CLIENT_ID)
        hits = dict(app.hits)
        anonymous = requests.get(server.url + listing, json={"filter": {"clientid": CLIENT_ID}}, timeout=5)
    assert outcome.ok and outcome.status == "ok", outcome.summary()
    assert rows(records) == truth(listed)
    assert {r["tool"] for r in records} == {"wallarm"}
    assert 0 < sum(bool(r["sensitive_data"]) for r in records) < len(records)
    assert {r["status"] for r in records} == {"active", "inactive"}
    first = next(r for r in records if r["api_id"] == "1001")
    assert first["first_seen"].startswith("2026-01-05T10:00:00")
    assert hits == {listing: 3, listing + "/count": 1}
    assert anonymous.status_code == 403


def test_a_wallarm_page_cut_short_is_a_truncated_listing(tmp_path: Path) -> None:
    """A second page of 40 where 100 were asked reads as the listing's end to offset paging; the count
    says 230, so the collection is truncated, never ok, and no partial inventory is written."""
    from apiinv.sandbox.server import SimServer, json_response
    from apiinv.sandbox.wallarm import WallarmApi, endpoints

    class CuttingShort(WallarmApi):
        def list_endpoints(self, request):  # type: ignore[no-untyped-def]
            if request.int_arg("offset", 0) == 100:
                return json_response({"status": 200, "body": self.listed[100:140]})
            return super().list_endpoints(request)

    app = CuttingShort(endpoints(230, client_id=CLIENT_ID), token=TOKEN, client_id=CLIENT_ID)
    with SimServer(app) as server:
        outcome, records = collect(tmp_path, docs_entry(server.url))
    assert outcome.status == "truncated", outcome.summary()
    assert "140 of the 230 items its count gives" in outcome.summary()
    assert records == []


def test_a_wallarm_count_that_cannot_be_read_leaves_the_listing_truncated(tmp_path: Path) -> None:
    """Without a count to hold the pages against, a complete-looking listing is not called ok."""
    from apiinv.sandbox.server import SimServer
    from apiinv.sandbox.wallarm import WallarmApi, endpoints

    app = WallarmApi(endpoints(30, client_id=CLIENT_ID), token=TOKEN, client_id=CLIENT_ID)
    app.inject("status", status=500, times=10, path="/count$")
    with SimServer(app) as server:
        outcome, records = collect(tmp_path, docs_entry(server.url))
    assert outcome.status == "truncated", outcome.summary()
    assert "count unreadable" in outcome.summary() and records == []


def test_a_wallarm_listing_whose_pages_shift_while_read_is_truncated(tmp_path: Path) -> None:
    """Offset pages that shift between two requests repeat one endpoint and skip another: as many items
    as the count says, but one fewer endpoint, so the listing is truncated, never ok."""
    from apiinv.sandbox.server import SimServer, json_response
    from apiinv.sandbox.wallarm import WallarmApi, endpoints

    class Shifting(WallarmApi):
        def list_endpoints(self, request):  # type: ignore[no-untyped-def]
            if request.int_arg("offset", 0) == 100:  # one endpoint came in before the second page
                return json_response({"status": 200, "body": self.listed[99:199]})
            return super().list_endpoints(request)

    app = Shifting(endpoints(230, client_id=CLIENT_ID), token=TOKEN, client_id=CLIENT_ID)
    with SimServer(app) as server:
        outcome, records = collect(tmp_path, docs_entry(server.url))
    assert outcome.status == "truncated", outcome.summary()
    assert "229 of the 230 items its count gives" in outcome.summary()
    assert records == []
