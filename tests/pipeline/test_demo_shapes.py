"""The routing shapes of the demo estate, served by the simulators over HTTP and judged from the report
a whole run writes (its JSON and its workbook): traffic under AWS greedy proxies (nested, below a base
path, at the root) and one request a root proxy must not take; traffic on OpenAPI operations with a
parameter inside a segment, on hosts an operation's or path item's servers name, with a word for a
parameter; word values under each gateway; traffic under a Kong catch-all and a nested Apigee base
path. Each row a user reads: which tools serve it, not a shadow API (or one, where nothing serves it),
the proxies not orphans once traffic reaches them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import RUN_DATE
from openpyxl import load_workbook

from apiinv.analysis.routers import openapi
from apiinv.inventory.keys import endpoint_key, split_key
from apiinv.sandbox.estate import APIGEE_HOSTS
from apiinv.sandbox.openapi_specs import EXAMPLE_TRAFFIC
from apiinv.store import Store, read_json

DAY = str(RUN_DATE)
TOOLS = ("cequence", "kong", "apigee", "aws_apigateway", "openapi_specs")


class Report:
    """The written report: rows by key, each finding's keys, the workbook's sheets as dicts by header."""

    def __init__(self, store: Store) -> None:
        document = json.loads((store.date_dir(DAY) / f"api-inventory-{DAY}.json").read_bytes())
        self.rows = {row["endpoint_key"]: row for row in document["records"]}
        self.findings = {
            name: {r["endpoint_key"] for r in rows} for name, rows in document["findings"].items()
        }
        book = load_workbook(store.date_dir(DAY) / f"api-inventory-{DAY}.xlsx", read_only=True)
        self.sheets = {name: _sheet(book[name]) for name in ("Inventory", "Shadow APIs", "aws_apigateway")}

    def traffic_under(self, method: str, host: str, base_path: str, template: str) -> list[dict[str, Any]]:
        """The traffic rows a request template stands for (its parameters any value: an id or a word)."""
        wanted_method, wanted_host, wanted_path = split_key(endpoint_key(method, host, base_path, template))
        return [
            row
            for key, row in self.rows.items()
            if row["in_traffic"]
            and split_key(key)[:2] == (wanted_method, wanted_host)
            and openapi.serves(wanted_path, split_key(key)[2])
        ]

    def inventory_tools(self, key: str) -> list[str]:
        """The Tools cell of the key's row on the Inventory sheet."""
        (row,) = [r for r in self.sheets["Inventory"] if r["Endpoint"] == key]
        return sorted(t.strip() for t in str(row["Tools"]).split(","))


def _sheet(sheet: Any) -> list[dict[str, Any]]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows)
    return [dict(zip(header, row, strict=False)) for row in rows]


def assert_served(report: Report, rows: list[dict[str, Any]], tool: str, *, shape: str) -> None:
    assert rows, f"{shape}: no traffic in the report"
    for row in rows:
        key = row["endpoint_key"]
        where = "in_spec" if tool == "openapi_specs" else "in_gateway"
        assert row[where] and tool in row["tools"], (shape, key, row["tools"])
        assert tool in report.inventory_tools(key), (shape, key)
        assert key not in report.findings["shadow"], (shape, key)


@pytest.mark.sandbox_tools(*TOOLS)
@pytest.mark.sandbox_estate(size=40, seed=2)  # an estate small enough that holds every shape
def test_each_routing_shape_of_the_demo_estate_reads_right_in_the_report(cli, sandbox) -> None:
    result = cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    store = Store(cli.output)
    report = Report(store)
    day = sandbox.estate.on(RUN_DATE)

    # AWS API Gateway: the greedy proxies take the traffic under them, so they are no orphans; the
    # request under a non-proxy sibling with a method it lacks is no one's (API Gateway excludes a
    # proxy's siblings): a shadow API.
    greedy = [
        r
        for r in read_json(store.processed_path(DAY, "aws_apigateway"))["records"]
        if "{proxy+}" in r["path"]
    ]
    assert {r["path_match"] for r in greedy} == {"greedy"}
    assert {r["Match"] for r in report.sheets["aws_apigateway"] if "{proxy+}" in (r["Path"] or "")} == {
        "greedy"
    }
    shapes = {"root": 0, "nested": 0, "base path": 0, "sibling": 0}
    for _api, op, host, base_path in day.proxy_calls():
        rows = report.traffic_under(op.method, host, base_path, op.template)
        if op.method != "GET":  # the sibling's missing method
            assert rows and all(not r["in_gateway"] and r["tools"] == ["cequence"] for r in rows), rows
            assert all(r["endpoint_key"] in report.findings["shadow"] for r in rows)
            shadow_sheet = {r["Endpoint"] for r in report.sheets["Shadow APIs"]}
            assert all(r["endpoint_key"] in shadow_sheet for r in rows)
            shapes["sibling"] += 1
            continue
        shape = (
            "nested" if "/files/" in op.template else "base path" if "/backend/" in op.template else "root"
        )
        assert_served(report, rows, "aws_apigateway", shape=f"AWS {shape} proxy")
        shapes[shape] += 1
    assert all(shapes.values()), shapes
    orphans = [r["endpoint_key"] for r in greedy if r["endpoint_key"] in report.findings["orphan"]]
    assert not orphans, orphans

    # OpenAPI: a parameter inside a segment filled, a word for a parameter, and the hosts that
    # servers of an operation or a path item name, each joined to its operation.
    for method, host, path, _ in EXAMPLE_TRAFFIC:
        assert_served(report, report.traffic_under(method, host, "", path), "openapi_specs", shape=path)

    # Words for a templated parameter under each gateway (Kong regex groups, Apigee, API Gateway).
    words = {"kong": 0, "apigee": 0, None: 0}
    rest_apis = {api.index for apis in day.on_rest_apis().values() for api, _ in apis}
    for api, op in day.in_traffic():
        if api.index % 10 != 7 or not op.params or not op.concrete_in_traffic:
            continue
        if api.gateway is None and api.index not in rest_apis:
            continue
        rows = report.traffic_under(op.method, api.host, api.base_path, op.template)
        assert any(not split_key(r["endpoint_key"])[2].endswith("{}") for r in rows), rows  # a word
        assert_served(report, rows, api.gateway or "aws_apigateway", shape=f"word under {api.gateway}")
        words[api.gateway] += 1
    assert all(words.values()), words

    # A Kong catch-all route (hosts only) serves every request on its hostname.
    catch_all = [api for api, _ in day.in_gateway("kong") if api.index % 10 == 3]
    assert catch_all
    for api in catch_all:
        rows = [r for k, r in report.rows.items() if r["in_traffic"] and split_key(k)[1] == api.host]
        assert_served(report, rows, "kong", shape="Kong catch-all")

    # A nested Apigee base path takes the traffic under it: its rows are the gateway's, and its proxy
    # needs no row of its own (an any-method row stays only where it serves nothing).
    nested = [api for api, _ in day.in_gateway("apigee") if api.nested_in is not None]
    assert nested
    for api in nested:
        rows = report.traffic_under("GET", APIGEE_HOSTS["prod"], api.base_path, "/{any}")
        rows += report.traffic_under("GET", APIGEE_HOSTS["prod"], api.base_path, "/{any}/{any}")
        assert_served(report, rows, "apigee", shape="nested Apigee base path")
        assert endpoint_key("*", APIGEE_HOSTS["prod"], api.base_path, "") not in report.rows
