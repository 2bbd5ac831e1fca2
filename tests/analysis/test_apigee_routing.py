"""Which Apigee proxy serves a request: its base path on its environment groups' hostnames, as Google's
Apigee documentation states it (apiinv/analysis/routers/apigee.py), judged through the merge."""

from __future__ import annotations

import pytest

from apiinv.inventory.keys import endpoint_key
from apiinv.inventory.records import make_record
from tests.analysis.routing import SEEN, assert_each_row_cites_a_source, report, table, traffic

ROLES = {"apigee": "gateway", "cequence": "traffic"}
TABLE = table("apigee")


def proxy(base_path: str, host: str, name: str) -> dict:
    """A deployed proxy's base path on one hostname, as apiinv's Apigee source writes it."""
    return make_record(
        tool="apigee",
        instance="apigee",
        collected_at=SEEN,
        api_id=name,
        api_name=name,
        host=host,
        base_path=base_path,
        method="*",
        path="",
        status="deployed",
        path_match="prefix",
        products=[base_path],  # which base path served a request, for the row to show
    )


@pytest.mark.parametrize(
    "row", TABLE["rows"], ids=[f"{i}-{r['request'][2]}" for i, r in enumerate(TABLE["rows"])]
)
def test_apigee_conformance_row_through_the_merge(row) -> None:
    method, host, path = row["request"]
    records = [
        proxy(p["base_path"], h, p.get("name", p["base_path"]))
        for p in row["proxies"]
        for h in p.get("hosts", ["api.x"])
    ]
    records.append(traffic(path, method, host))
    rows, found = report(records, ROLES)
    key = endpoint_key(method, host, "", path)
    served = rows[key]
    expected = row["served_by"]
    assert served["in_gateway"] is (expected is not None), row
    assert served["products"] == ([expected] if expected else []), row
    assert (key in found["shadow"]) is (expected is None), row


def test_apigee_table_cites_googles_documentation() -> None:
    assert_each_row_cites_a_source(TABLE, at_least=10)
