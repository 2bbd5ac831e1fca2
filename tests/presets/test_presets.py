"""Presets: a tools.yaml entry that says ``preset: NAME`` and gives its URL and secret collects the vendor
whole, with the right auth, against an imitation of the vendor built from its public reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import RUN_DATE

from apiinv import config
from apiinv.sources import rest


def write_config(folder: Path, entries: dict[str, Any], env: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tools.yaml").write_text(yaml.safe_dump(entries))
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return folder


def collect(folder: Path, name: str, tmp_path: Path, **overrides: Any):
    """(outcome, records) of tool ``name`` as apiinv loads it from ``folder``."""
    import dataclasses

    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store, read_json

    tool = dataclasses.replace(config.load(folder).tools[name], retry_backoff=0.01, **overrides)
    store = Store(tmp_path / "output")
    outcome = collect_tool(tool, store.at(RUN_DATE), use_cache=False)
    raw_path = store.raw_path(RUN_DATE, name)
    records = list(rest.SOURCE.normalize(read_json(raw_path))) if raw_path.exists() else []
    return outcome, records


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
        outcome, records = collect(folder, "tyk", tmp_path)
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
        outcome, _ = collect(folder, "tyk", tmp_path)
    assert outcome.status == "truncated", outcome.summary()
