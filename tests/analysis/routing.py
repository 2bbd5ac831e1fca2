"""What the routing tests share: a request seen in traffic, the report the pipeline makes of records
(merge, then findings), and the conformance tables with their citations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from apiinv.analysis.findings import find
from apiinv.analysis.merge import merge
from apiinv.config import Analysis
from apiinv.inventory.records import make_record

NOW = datetime(2026, 11, 24, tzinfo=UTC)
SEEN = "2026-11-23T10:00:00Z"
TABLES = Path(__file__).parent / "conformance"


def traffic(path: str, method: str = "GET", host: str = "api.x", **extra: Any) -> dict:
    """One endpoint as a traffic tool (Cequence) saw it; ``auth`` says whether it was authenticated."""
    extra.setdefault("auth_required", extra.pop("auth", None))
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
        **extra,
    )


def report(records: list[dict], roles: Mapping[str, str]) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """(merged rows by endpoint key, each finding's endpoint keys), as the export computes them."""
    merged = merge(records, roles=roles)
    found = find(merged, records, Analysis(), now=NOW, roles=roles)
    return {r["endpoint_key"]: r for r in merged}, {
        name: sorted(r["endpoint_key"] for r in rows) for name, rows in found.items()
    }


def table(name: str) -> dict[str, Any]:
    return yaml.safe_load((TABLES / f"{name}.yaml").read_text())


def assert_each_row_cites_a_source(cases: dict[str, Any], at_least: int) -> None:
    """The table's data, not the code: enough rows, each naming one of its sources and a place in it."""
    assert len(cases["rows"]) >= at_least
    for row in cases["rows"]:
        source, _, place = row["source"].partition(":")
        assert source in cases["sources"] and place.strip(), row
