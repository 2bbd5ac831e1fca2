from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.launch import Sandbox


@pytest.mark.parametrize("size", [1, 40, 2000])
def test_collected_counts_equal_the_simulators_truth(size: int, tmp_path: Path) -> None:
    with Sandbox(size=size, seed=3, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        # Apigee's own default of 6,000 calls a minute would make this test take 10 s at 2,000 APIs.
        outcome, raw = fetch(sandbox, "apigee", tmp_path, rate_limit=None)
        assert outcome.ok, outcome.summary()
        truth = sandbox.truth()["apigee"]
        assert {k: raw["counts"][k] for k in truth} == truth
        assert raw["counts"]["revisions"] == truth["proxies"]  # deployed revisions + latest of undeployed


def test_start_key_and_token_pages_give_every_product_and_group_once(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "apigee", tmp_path, page_size=3)
    names = [p["name"] for p in raw["data"]["products"]]
    assert len(names) == len(set(names)) == sandbox.truth()["apigee"]["products"]
    assert outcome.stats["pages"] >= len(names) // 2
    groups = raw["data"]["envgroups"]
    assert [g["hostnames"] for g in groups] == [["api.acme.example"], ["api-test.acme.example"]]
    assert all(g["attachments"][0]["environment"] for g in groups)


def test_timestamps_are_epoch_milliseconds_as_strings(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "apigee", tmp_path)
    proxy = raw["data"]["proxies"][0]
    assert isinstance(proxy["metaData"]["createdAt"], str) and len(proxy["metaData"]["createdAt"]) == 13
    assert raw["data"]["deployments"][0]["deployStartTime"].isdigit()


def test_service_account_key_is_exchanged_through_google_auth(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path)
    assert outcome.ok
    assert sandbox.apps["apigee"].tokens.issued == 1


def test_an_operator_token_works_instead_of_a_key(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path, credentials={"token": sandbox.operator_token})
    assert outcome.ok
    assert sandbox.apps["apigee"].tokens.issued == 0


def test_a_token_expiring_mid_run_is_refreshed(sandbox, tmp_path: Path) -> None:
    sandbox.apps["apigee"].inject("expire_tokens", path="/revisions/")
    outcome, _ = fetch(sandbox, "apigee", tmp_path)
    assert outcome.ok, outcome.summary()
    assert outcome.stats["auth_refreshes"] == 1
    assert sandbox.apps["apigee"].tokens.issued == 2


def test_an_unknown_organization_is_a_clear_failure(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "apigee", tmp_path, settings={"organization": "not-ours"})
    assert not outcome.ok
    assert "not allowed (check the scopes) (403)" in str(outcome.error)
    assert "/v1/organizations/not-ours" in str(outcome.error)


def test_environments_setting_limits_deployments(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "apigee", tmp_path, settings={"environments": ["test"]})
    assert raw["data"]["deployments"] and {d["environment"] for d in raw["data"]["deployments"]} == {"test"}
