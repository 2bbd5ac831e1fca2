from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.launch import Sandbox


@pytest.mark.parametrize("size", [1, 40, 2000])
def test_collected_counts_equal_the_simulators_truth(size: int, tmp_path: Path) -> None:
    with Sandbox(size=size, seed=3, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        outcome, raw = fetch(sandbox, "kong", tmp_path)
        assert outcome.ok, outcome.summary()
        assert raw["counts"] == sandbox.truth()["kong"]


def test_offset_pages_give_every_entity_once(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "kong", tmp_path, page_size=5)
    routes = raw["data"]["workspaces"]["default"]["routes"]
    assert len(routes) == len({r["id"] for r in routes}) == sandbox.truth()["kong"]["routes"]
    assert outcome.stats["pagination_stops"] == {"no next link": 3}
    assert isinstance(routes[0]["created_at"], int)


def test_admin_token_is_sent_when_rbac_is_on(tmp_path: Path) -> None:
    with Sandbox(size=20, seed=3, day=RUN_DATE, kong_admin_token=True) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        outcome, _ = fetch(sandbox, "kong", tmp_path)
        assert outcome.ok
        refused, _ = fetch(sandbox, "kong", tmp_path / "x", auth_type="none")
        assert not refused.ok and "credentials refused (401)" in str(refused.error)


def test_workspaces_prefix_the_paths(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "kong", tmp_path, settings={"workspaces": ["default"]})
    assert outcome.ok and raw["counts"] == sandbox.truth()["kong"]
    assert all(path.startswith("/default/") for path in sandbox.apps["kong"].hits)
