"""The sandbox estate looks like a real one: most endpoints audited and called, not most of them noise."""

from __future__ import annotations

import json

from conftest import RUN_DATE, build_reports

DAY = str(RUN_DATE)


def test_the_summary_of_the_sandbox_estate_is_not_mostly_unaudited_or_orphan(tmp_path) -> None:
    reported = build_reports(tmp_path, [RUN_DATE])
    report = json.loads((reported.output / DAY / f"api-inventory-{DAY}.json").read_text())
    summary = report["summary"]
    share = {name: count / summary["endpoints"] for name, count in summary["findings"].items()}
    # a real estate's look: a fifth to two fifths unaudited, a tenth to a fifth orphan
    assert share["unaudited"] <= 0.45 and share["orphan"] <= 0.25, share
    # no Apigee test deployment is in no spec: specs list their test servers too
    deployed = {r["endpoint_key"] for r in report["records"] if r["in_gateway"]}
    assert any("api-test." in key for key in deployed)  # the estate has test deployments to judge
    test_host = [r for r in report["findings"]["unaudited"] if "api-test." in r["endpoint_key"]]
    assert not [
        r for r in test_host if r["reason"] == "no audit: in no spec" and r["endpoint_key"] in deployed
    ]
