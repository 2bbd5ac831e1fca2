from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.launch import Sandbox


@pytest.mark.parametrize("size", [1, 40, 2000])
def test_collected_counts_equal_the_simulators_truth(size: int, tmp_path: Path) -> None:
    with Sandbox(size=size, seed=3, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        outcome, raw = fetch(sandbox, "cequence", tmp_path)
        assert outcome.ok, outcome.summary()
        assert raw["counts"]["endpoints"] == sandbox.truth()["cequence"]["endpoints"]


def test_pagination_and_fields_are_configuration(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox,
        "cequence",
        tmp_path,
        page_size=7,
        settings={
            "pagination": {"strategy": "offset", "items_key": "items", "size_param": "limit"},
            "fields": {"risk_score": "riskScore"},
        },
    )
    assert raw["counts"]["endpoints"] == sandbox.truth()["cequence"]["endpoints"]
    assert outcome.stats["pages"] >= raw["counts"]["endpoints"] // 7
    assert raw["data"]["fields"]["risk_score"] == "riskScore"


def test_a_wrong_inventory_path_names_the_path(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(
        sandbox, "cequence", tmp_path, settings={"endpoints": {"inventory": "/apisec/api/v9/nope"}}
    )
    assert not outcome.ok and "/apisec/api/v9/nope answered 404" in str(outcome.error)


def test_tokens_that_expire_are_renewed(tmp_path: Path) -> None:
    with Sandbox(size=40, seed=3, day=RUN_DATE, token_lifetime=1.0, latency=0.02) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        started = time.monotonic()
        outcome, _ = fetch(sandbox, "cequence", tmp_path, page_size=10)
        assert outcome.ok, outcome.summary()
        if time.monotonic() - started > 1.0:  # the run outlived a token
            assert sandbox.apps["cequence"].tokens.issued >= 2


def test_a_token_revoked_mid_run_is_fetched_again(sandbox, tmp_path: Path) -> None:
    sandbox.apps["cequence"].inject("expire_tokens", path="/endpoints")
    outcome, _ = fetch(sandbox, "cequence", tmp_path)
    assert outcome.ok and outcome.stats["auth_refreshes"] >= 1
    assert sandbox.apps["cequence"].tokens.issued >= 2


def test_refused_client_credentials_are_a_clear_failure(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(
        sandbox,
        "cequence",
        tmp_path,
        credentials={"client_id": sandbox.client_id, "client_secret": "wrong-secret-value"},
    )
    assert not outcome.ok
    assert "token endpoint refused the client credentials (401: invalid_client)" in str(outcome.error)
