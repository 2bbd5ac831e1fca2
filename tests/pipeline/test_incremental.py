"""Incremental collection: a daily crawl reuses what the listings say is unchanged since the tool's last
complete collection, and gives exactly the records a full crawl of the same date gives."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store, read_json

START = date(2026, 11, 17)
DAYS = 6


def _records(output: Path, day: date, tool: str) -> list[dict]:
    records = read_json(output / str(day) / "processed" / f"{tool}.json")["records"]
    return sorted(({k: v for k, v in r.items() if k != "collected_at"} for r in records), key=repr)


def _collect(cli, folder: Path, output: Path, day: date, *extra: str) -> dict:
    for command in (["collect", "--all", "--no-cache", *extra], ["process", "--all"]):
        result = cli("--date", str(day), *command, config_dir=folder, output=output)
        assert result.exit_code == 0, result.output
    return Store(output).read_manifest(day)["tools"]


@pytest.fixture(scope="module")
def drifting(tmp_path_factory):
    """Six consecutive days of a drifting estate, crawled incrementally and in full."""
    from conftest import Cli

    root = tmp_path_factory.mktemp("incremental")
    cli = Cli(root / "unused")
    days = [START + timedelta(days=n) for n in range(DAYS)]
    manifests: dict[str, list[dict]] = {"incremental": [], "full": []}
    # Only the tools the tests compare: moto refilled each day, specs and rest files would add nothing.
    with Sandbox(size=150, seed=5, day=START, only=["42crunch", "apigee", "cequence", "kong"]) as sandbox:
        folder = sandbox.write_config(root / "sb")
        for day in days:
            sandbox.set_date(day)
            manifests["incremental"].append(_collect(cli, folder, root / "incremental", day))
            manifests["full"].append(_collect(cli, folder, root / "full", day, "--full"))
    return root, days, manifests


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["42crunch", "apigee", "cequence", "kong"])
def test_incremental_and_full_crawls_give_identical_records_every_day(drifting, tool: str) -> None:
    root, days, _ = drifting
    for day in days:
        assert _records(root / "incremental", day, tool) == _records(root / "full", day, tool), day
    # The estate did drift: the comparison is over APIs that came, went and changed.
    first, last = _records(root / "full", days[0], tool), _records(root / "full", days[-1], tool)
    assert first != last


@pytest.mark.slow
def test_a_second_day_sends_a_fraction_of_the_requests_and_says_what_it_reused(drifting) -> None:
    _, days, manifests = drifting
    for index in range(1, len(days)):
        incremental, full = manifests["incremental"][index], manifests["full"][index]
        for tool in ("42crunch", "apigee"):
            collected = incremental[tool]["collect"]
            assert collected["reused"] > 0 and collected["reused_from"] == str(days[index - 1])
            assert collected["requests"] + collected["reused"] >= full[tool]["collect"]["requests"] * 0.9
            assert collected["requests"] < full[tool]["collect"]["requests"] / 3
            assert full[tool]["collect"]["reused"] == 0 and full[tool]["collect"]["reused_from"] is None
    assert manifests["incremental"][0]["42crunch"]["collect"]["reused"] == 0  # nothing before day one


def test_a_changed_setting_means_a_full_crawl(cli, sandbox, tmp_path: Path) -> None:
    yesterday = sandbox.day - timedelta(days=1)
    sandbox.set_date(yesterday)
    _collect(cli, sandbox.config_dir, cli.output, yesterday)
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(tools_yaml.read_text().replace("scan_reports: true", "scan_reports: false"))
    sandbox.set_date(yesterday + timedelta(days=1))
    manifest = _collect(cli, sandbox.config_dir, cli.output, yesterday + timedelta(days=1))
    assert manifest["42crunch"]["collect"]["reused"] == 0  # other settings: yesterday's files do not apply
    assert manifest["apigee"]["collect"]["reused"] > 0


def test_run_full_reuses_nothing(cli, sandbox) -> None:
    yesterday = sandbox.day - timedelta(days=1)
    sandbox.set_date(yesterday)
    assert cli("--date", str(yesterday), "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    sandbox.set_date(yesterday + timedelta(days=1))
    today = str(yesterday + timedelta(days=1))
    assert cli("--date", today, "run", "--all", "--full", config_dir=sandbox.config_dir).exit_code == 0
    tools = Store(cli.output).read_manifest(today)["tools"]
    assert all(tools[t]["collect"]["reused"] == 0 for t in ("42crunch", "apigee"))
    assert tools["apigee"]["collect"]["requests"] > sandbox.truth()["apigee"]["proxies"]  # every revision


def test_the_last_collection_holds_what_its_source_passes_on_verbatim_as_json_text(tmp_path: Path) -> None:
    """42Crunch's specs and reports are most of its last collection: read back, they stay text until
    written again (memory.RawJson), while what the crawl compares is parsed as ever."""
    from apiinv.config import ToolConfig
    from apiinv.memory import RawJson
    from apiinv.pipeline.collect import previous_collection, scope
    from apiinv.store import write_json

    tool = ToolConfig(name="42crunch", type="42crunch", base_url="http://127.0.0.1:9", auth_type="api_key")
    store = Store(tmp_path)
    spec = {"openapi": "3.0.3", "paths": {"/pets": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    api = {"desc": {"id": "a1", "revisionOasCounter": 3}, "spec": spec, "assessment_report": {"grade": 91}}
    write_json(
        store.raw_path(START, "42crunch"),
        {
            "scope": scope(tool),
            "data": {"collections": [{"desc": {"id": "c"}}], "apis": [api, {**api, "spec": None}]},
        },
    )
    store.record_step(START, "42crunch", "collect", {"status": "ok"})

    texts: dict[str, str] = {}
    earlier, data = previous_collection(store.at(START + timedelta(days=1)), tool, texts)
    assert earlier is not None and earlier.day == START and data is not None
    first, second = data["apis"]
    assert isinstance(first["spec"], RawJson) and isinstance(first["assessment_report"], RawJson)
    assert first["spec"] == spec and second["spec"] is None
    assert first["desc"] == {"id": "a1", "revisionOasCounter": 3} and data["collections"] == [
        {"desc": {"id": "c"}}
    ]
    again = write_json(tmp_path / "again.json", {"data": data})
    assert read_json(again)["data"]["apis"] == [api, {**api, "spec": None}]
