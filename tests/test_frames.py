"""apiinv.load: a date's report as pandas DataFrames, exactly what the JSON report says."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import RUN_DATE

import apiinv
from apiinv.errors import UsageError


@pytest.mark.slow
def test_load_gives_the_newest_report_as_dataframes(cli, sandbox) -> None:
    for day in (RUN_DATE - timedelta(days=1), RUN_DATE):
        sandbox.set_date(day)
        assert cli("--date", str(day), "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    loaded = apiinv.load(cli.output)
    document = json.loads((cli.output / str(RUN_DATE) / f"api-inventory-{RUN_DATE}.json").read_text())
    assert loaded.day == str(RUN_DATE) and loaded.incomplete is False
    assert len(loaded.inventory) == len(document["records"])
    assert set(loaded.inventory["endpoint_key"]) == {r["endpoint_key"] for r in document["records"]}
    assert str(loaded.inventory["last_seen"].dtype).startswith("datetime64")
    counts = loaded.findings.groupby("finding").size().to_dict()
    assert counts == {name: len(rows) for name, rows in document["findings"].items() if rows}
    assert loaded.findings["risk_level"].notna().any()  # the inventory's columns came along
    assert len(loaded.changes) == len(document["changes"])
    assert list(loaded.trend["endpoints"]) == [p["endpoints"] for p in document["trend"]]
    earlier = apiinv.load(cli.output, RUN_DATE - timedelta(days=1))
    assert earlier.day == str(RUN_DATE - timedelta(days=1)) and len(earlier.trend) == 1


def test_load_without_reports_says_so(tmp_path) -> None:
    with pytest.raises(UsageError, match="no reports under"):
        apiinv.load(tmp_path)
