from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.estate import HOSTILE_TITLES
from apiinv.sandbox.launch import Sandbox


@pytest.mark.parametrize("size", [1, 40, 2000])
def test_collected_counts_equal_the_simulators_truth(size: int, tmp_path: Path) -> None:
    with Sandbox(size=size, seed=3, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        outcome, raw = fetch(sandbox, "42crunch", tmp_path)
        assert outcome.ok, outcome.summary()
        assert raw["counts"] == sandbox.truth()["42crunch"]


def test_page_by_page_listing_gives_the_same_inventory(sandbox, tmp_path: Path) -> None:
    everything, raw_all = fetch(sandbox, "42crunch", tmp_path / "a")
    paged, raw_paged = fetch(sandbox, "42crunch", tmp_path / "b", page_size=2)
    assert raw_paged["counts"] == raw_all["counts"] == sandbox.truth()["42crunch"]
    assert paged.stats["pages"] > everything.stats["pages"]
    ids = [api["desc"]["id"] for api in raw_paged["data"]["apis"]]
    assert len(ids) == len(set(ids))


def test_specs_audit_and_scan_reports_are_decoded(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "42crunch", tmp_path)
    apis = raw["data"]["apis"]
    for api in apis:
        assert api["spec"]["openapi"].startswith("3.")
        assert api["spec"]["servers"][0]["url"].startswith("https://")
    audited = [a for a in apis if a["assessment"]["isProcessed"]]
    assert audited and all(
        a["assessment_report"]["data"]["score"] == a["assessment"]["grade"] for a in audited
    )
    assert all(a["assessment"]["last"] in (None, "") for a in apis if not a["assessment"]["isProcessed"])
    scanned = [a for a in apis if a["scan"]["isProcessed"]]
    assert scanned and all(a["scan_report"]["state"] == "done" for a in scanned)


def test_reports_are_fetched_only_when_configured(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox, "42crunch", tmp_path, settings={"assessment_reports": False, "scan_reports": False}
    )
    assert not any("assessment_report" in api for api in raw["data"]["apis"])
    assert outcome.stats["requests"] == 1 + raw["counts"]["collections"] + raw["counts"]["apis"]


def test_hostile_vendor_strings_are_kept_verbatim(tmp_path: Path) -> None:
    with Sandbox(size=60, seed=5, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        _, raw = fetch(sandbox, "42crunch", tmp_path)
    names = {api["desc"]["name"] for api in raw["data"]["apis"]}
    specs = {api["spec"]["info"]["title"] for api in raw["data"]["apis"]}
    hostile = set(HOSTILE_TITLES) & names
    assert hostile and hostile <= specs


def test_a_refused_key_fails_the_tool_clearly(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox, "42crunch", tmp_path, credentials={"api_key": "api_00000000-0000-4000-8000-000000000000"}
    )
    assert not outcome.ok and raw is None
    assert outcome.error.code == "AUTHENTICATION_ERROR"
    assert "credentials refused (401)" in str(outcome.error)
