"""Kong route shapes that Kong's router reads its own way, served by the sandbox's Kong over HTTP and
judged from the report a run writes: a catch-all route (hosts only, no paths), a plain path with a
trailing slash, a regex with an inline flag after its start."""

from __future__ import annotations

import json

import pytest
from conftest import RUN_DATE

from apiinv.store import Store, read_json

DAY = str(RUN_DATE)
SHAPES = {3: "catch-all", 5: "trailing slash", 9: "inline flag"}  # by the Kong API's index % 10


@pytest.mark.sandbox_tools("kong", "cequence")
def test_traffic_under_each_kong_route_shape_is_served_by_the_gateway(cli, sandbox) -> None:
    result = cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    store = Store(cli.output)
    routes = read_json(store.processed_path(DAY, "kong"))["records"]
    paths = {r["path"] for r in routes}
    assert any(not p or p == "/" for p in paths), paths  # the catch-all: no paths
    assert any(p.endswith("/") and not p.startswith("~") and len(p) > 1 for p in paths), paths
    assert any(p.startswith("~") and "/(?i)" in p for p in paths), paths

    report = json.loads((store.date_dir(DAY) / f"api-inventory-{DAY}.json").read_bytes())
    shadow = {row["endpoint_key"] for row in report["findings"]["shadow"]}
    # An inline flag changes how Kong matches, not which endpoint a route names: no row of its own.
    assert not [r["endpoint_key"] for r in report["records"] if "(" in r["endpoint_key"]]
    day = sandbox.estate.on(RUN_DATE)
    checked = dict.fromkeys(SHAPES.values(), 0)
    for api, _ in day.in_gateway("kong"):
        shape = SHAPES.get(api.index % 10)
        if shape is None:
            continue
        below = f"{api.host}{api.base_path}/"
        rows = [
            r
            for r in report["records"]
            if r["in_traffic"] and r["endpoint_key"].split(" ", 1)[1].startswith(below)
        ]
        for row in rows:
            assert row["in_gateway"] and "kong" in row["tools"], (shape, row["endpoint_key"])
            assert row["endpoint_key"] not in shadow, (shape, row["endpoint_key"])
        checked[shape] += len(rows)
    assert all(checked.values()), checked
