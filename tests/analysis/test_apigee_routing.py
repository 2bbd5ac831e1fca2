"""Which Apigee proxy serves a request: its base path on its environment groups' hostnames, as Google's
Apigee documentation states it (apiinv/analysis/routers/apigee.py), judged through the merge."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.config import Analysis
from apiinv.inventory.keys import endpoint_key
from apiinv.inventory.records import make_record

NOW = datetime(2026, 11, 24, tzinfo=UTC)
SEEN = "2026-11-23T10:00:00Z"
ROLES = {"apigee": "gateway", "cequence": "traffic"}
TABLE = yaml.safe_load((Path(__file__).parent / "conformance" / "apigee.yaml").read_text())


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


def traffic(method: str, host: str, path: str) -> dict:
    return make_record(
        tool="cequence",
        instance="cequence",
        collected_at=SEEN,
        api_id=path,
        api_name=None,
        host=host,
        base_path="",
        method=method,
        path=path,
        status="active",
        last_seen=SEEN,
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
    records.append(traffic(method, host, path))
    merged = merge(records, roles=ROLES)
    found = find(merged, records, Analysis(), now=NOW, roles=ROLES)
    key = endpoint_key(method, host, "", path)
    served = next(r for r in merged if r["endpoint_key"] == key)
    expected = row["served_by"]
    assert served["in_gateway"] is (expected is not None), row
    assert served["products"] == ([expected] if expected else []), row
    assert (key in [r["endpoint_key"] for r in found["shadow"]]) is (expected is None), row


def test_apigee_table_cites_googles_documentation() -> None:
    assert len(TABLE["rows"]) >= 10
    for row in TABLE["rows"]:
        source, _, place = row["source"].partition(":")
        assert source in TABLE["sources"] and place, row
