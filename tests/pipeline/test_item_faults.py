"""Per-item faults: when one item's own call fails after retries (one API's spec, one proxy's revision),
the tool still writes its data, that item keeps its last good data (labelled with its date), it is named
in the manifest's ``failed_items``, the tool and the run are partial (exit 5), and the next run asks for
it again instead of reusing what stood in."""

from __future__ import annotations

import json
from datetime import timedelta

from conftest import RUN_DATE

from apiinv.store import Store

DAY1, DAY2, DAY3 = (str(RUN_DATE + timedelta(days=n)) for n in range(3))


def raw(cli, day: str, tool: str) -> dict:
    return json.loads((cli.output / day / "raw" / f"{tool}.json").read_text())["data"]


def test_an_item_that_keeps_failing_keeps_its_last_good_data_and_is_asked_for_first_next_run(
    cli, sandbox
) -> None:
    tools = ("42crunch", "apigee")
    first = cli("--date", DAY1, "run", *tools, config_dir=sandbox.config_dir)
    assert first.exit_code == 0, first.output
    spec_api = next(a for a in raw(cli, DAY1, "42crunch")["apis"] if (a.get("spec") or {}).get("paths"))
    aid = spec_api["desc"]["id"]
    revision = raw(cli, DAY1, "apigee")["revisions"][0]
    proxy, rev = revision["name"], revision["revision"]
    spec_fault = sandbox.apps["42crunch"].inject(
        "status", status=500, times=100, path=f"^/api/v1/apis/{aid}$"
    )
    sandbox.apps["apigee"].inject("status", status=500, times=100, path=f"/apis/{proxy}/revisions/{rev}$")

    # A full crawl fetches every item again: these two fail, and their data of day one stands in.
    second = cli("--date", DAY2, "run", *tools, "--full", config_dir=sandbox.config_dir)
    assert second.exit_code == 5, second.output
    store = Store(cli.output)
    crunch = store.step(DAY2, "42crunch", "collect")
    assert crunch["status"] == "partial"
    assert [(i["listing"], i["item"], i["kept_from"]) for i in crunch["failed_items"]] == [
        ("spec", aid, DAY1)
    ]
    assert "answered 500" in crunch["failed_items"][0]["reason"]
    assert crunch["errors"][0]["code"] == "ITEMS_FAILED"
    apigee = store.step(DAY2, "apigee", "collect")
    assert [(i["item"], i["kept_from"]) for i in apigee["failed_items"]] == [(f"{proxy}/{rev}", DAY1)]
    assert "42crunch: partial: " in second.output and "1 item(s) failed" in second.output
    closing = next(line for line in second.output.splitlines() if "== exit 5" in line)
    assert "42crunch partial (1 item(s) failed), apigee partial (1 item(s) failed)" in closing

    report = json.loads((cli.output / DAY2 / f"api-inventory-{DAY2}.json").read_text())
    assert report["run"]["incomplete"] is True
    assert {t: report["run"]["tools"][t]["status"] for t in tools} == {
        "42crunch": "partial",
        "apigee": "partial",
    }
    records = json.loads((cli.output / DAY2 / "processed" / "42crunch.json").read_text())["records"]
    kept = [r for r in records if r["api_id"] == aid]
    day_one = [
        r
        for r in json.loads((cli.output / DAY1 / "processed" / "42crunch.json").read_text())["records"]
        if r["api_id"] == aid
    ]
    assert {r["endpoint_key"] for r in kept} == {r["endpoint_key"] for r in day_one}  # nothing lost
    assert all(f"spec-kept-from:{DAY1}" in r["tags"] for r in kept)
    proxies = json.loads((cli.output / DAY2 / "processed" / "apigee.json").read_text())["records"]
    assert any(f"revision-kept-from:{DAY1}:{rev}" in r["tags"] for r in proxies if r["api_id"] == proxy)

    # Day three, incremental: the spec that stood in is not reused (the listing says it is unchanged,
    # but it is old data): it is asked for again, fails once more, and still says it is day one's.
    spec_fault.times = 1
    third = cli("--date", DAY3, "collect", "42crunch", config_dir=sandbox.config_dir)
    assert third.exit_code == 5, third.output
    assert spec_fault.times == 0
    again = store.step(DAY3, "42crunch", "collect")
    assert [(i["item"], i["kept_from"]) for i in again["failed_items"]] == [(aid, DAY1)]
    assert again["reused"] > 0  # the other APIs' specs were reused as usual
