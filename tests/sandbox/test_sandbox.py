"""The sandbox and the demo: every registered source's simulator runs, and a new vendor (here a plugin
written in the test: a source module and a simulator module, nothing else) is collected, processed and
reported with the others."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest

from apiinv import registry
from apiinv.cli import app
from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store

ECHO_SOURCE = textwrap.dedent(
    """
    from apiinv.inventory.records import make_record
    from apiinv.sources.base import Source


    def check(client, tool):
        return "echo"


    def fetch(ctx):
        return {"items": ctx.client.get_json("/items")["items"]}


    def counts(raw):
        return {"items": len(raw.get("items") or [])}


    def normalize(raw):
        for item in raw["data"]["items"]:
            yield make_record(
                tool="echo", instance=raw["tool"], collected_at=raw.get("collected_at"), api_id=item["id"],
                api_name=item["id"], host=item["host"], base_path="", method=item["method"],
                path=item["path"], status="active",
            )


    SOURCE = Source(
        name="echo", role="traffic", defaults={"auth_type": "none"}, raw_shape={"items": list},
        check=check, fetch=fetch, counts=counts, normalize=normalize, simulator="echo_simulator",
    )
    """
)
ECHO_SIMULATOR = textwrap.dedent(
    """
    from apiinv.sandbox.common import EstateApp, Simulator as Base
    from apiinv.sandbox.server import json_response

    ITEMS = [
        {"id": "echo-1", "host": "echo.example.com", "method": "GET", "path": "/echo/{id}"},
        {"id": "echo-2", "host": "echo.example.com", "method": "POST", "path": "/echo"},
    ]


    class EchoApp(EstateApp):
        def __init__(self, estate, **kwargs):
            super().__init__(estate, **kwargs)
            self.route("GET", "/items", lambda request: json_response({"items": ITEMS}))


    class Simulator(Base):
        def __init__(self, sandbox):
            super().__init__(sandbox, EchoApp(sandbox.estate, day=sandbox.day))

        def tool_entry(self, url, folder):
            return {"api_base_url": url}

        def truth(self):
            return {"items": len(ITEMS)}
    """
)


@pytest.fixture
def echo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fifth vendor registered the way a plugin package is: only its two modules exist."""
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "echo_source.py").write_text(ECHO_SOURCE)
    (folder / "echo_simulator.py").write_text(ECHO_SIMULATOR)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setitem(registry.BUILT_IN, "echo", "echo_source")
    registry.modules.cache_clear()
    yield "echo"
    monkeypatch.undo()
    registry.modules.cache_clear()


def test_every_registered_source_with_a_simulator_runs_in_the_sandbox() -> None:
    with Sandbox(size=10) as sandbox:
        assert sorted(sandbox.tools) == sorted(
            t for t in registry.known_types() if registry.load(t).simulator
        )
        served = [tool for tool in sandbox.tools if sandbox.simulators[tool].app is not None]
        assert served and all(sandbox.url(tool).startswith("http://127.0.0.1:") for tool in served)


def test_a_new_vendor_is_its_module_and_its_simulator_and_nothing_else(
    cli, tmp_path: Path, echo_plugin
) -> None:
    with Sandbox(size=20, day=None) as sandbox:
        assert "echo" in sandbox.tools and sandbox.truth()["echo"] == {"items": 2}
        folder = sandbox.write_config(tmp_path / "sb")
        result = cli("--date", "2026-11-23", "run", "--all", config_dir=folder)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok:") >= 10  # five tools collected and processed
    report = json.loads((cli.output / "2026-11-23" / "api-inventory-2026-11-23.json").read_text())
    echo_rows = [row for row in report["records"] if "echo" in row["tools"]]
    assert {row["endpoint_key"].split(" ", 1)[0] for row in echo_rows} == {"GET", "POST"}
    assert report["run"]["tools"]["echo"]["status"] == "ok"
    # Traffic known to no gateway and no spec: the new traffic source's endpoints are shadow APIs.
    shadow = {row["endpoint_key"] for row in report["findings"]["shadow"]}
    assert {row["endpoint_key"] for row in echo_rows} <= shadow


@pytest.mark.slow
def test_the_demo_runs_the_pipeline_for_two_consecutive_dates(cli) -> None:
    result = cli("--date", "2026-11-23", "demo", "--size", "30")
    assert result.exit_code == 0, result.output
    assert "== 2026-11-22" in result.output and "== 2026-11-23" in result.output
    tools = len(Sandbox().tools)
    assert result.output.count(": ok:") == 4 * tools  # every tool collected and processed, twice
    workbook = (cli.output / "2026-11-23" / "api-inventory-2026-11-23.xlsx").resolve()
    assert result.output.rstrip().endswith(f"workbook: {workbook}") and workbook.exists()
    assert (cli.output / "2026-11-22" / "api-inventory-2026-11-22.xlsx").exists()


def test_the_demo_writes_its_marked_simulated_data_to_a_folder_of_its_own(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APIINV_OUTPUT", str(tmp_path / "cron-output"))  # cron's folder: not the demo's
    result = cli.runner.invoke(app, ["--date", "2026-11-23", "demo", "--size", "10"], catch_exceptions=False)
    logging.getLogger("apiinv").handlers.clear()
    assert result.exit_code == 0, result.output
    workbook = tmp_path / "demo-output" / "2026-11-23" / "api-inventory-2026-11-23.xlsx"
    assert result.output.rstrip().endswith(f"workbook: {workbook}") and workbook.exists()
    assert not (tmp_path / "output").exists() and not (tmp_path / "cron-output").exists()
    for day in ("2026-11-22", "2026-11-23"):
        manifest = Store(tmp_path / "demo-output").read_manifest(day)
        steps = [entry for tool in manifest["tools"].values() for entry in tool.values()]
        assert len(steps) == 3 * len(Sandbox().tools)
        marks = [manifest["simulated"], manifest["report"]["simulated"], manifest["runs"][-1]["simulated"]]
        assert all(entry["simulated"] is True for entry in steps) and marks == [True] * 3


@pytest.mark.slow
def test_real_data_is_never_compared_with_nor_carried_forward_from_the_demos(cli, sandbox) -> None:
    assert cli("--date", "2026-11-23", "demo", "--size", "10").exit_code == 0  # into cli.output
    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    real = cli("--date", "2026-11-24", "run", "kong", "cequence", config_dir=sandbox.config_dir)
    assert real.exit_code == 5, real.output  # kong failed, cequence is real data of the day
    report = json.loads((cli.output / "2026-11-24" / "api-inventory-2026-11-24.json").read_text())
    tools = report["run"]["tools"]
    assert report["changes"] == [] and tools["cequence"]["baseline"] is True
    assert tools["kong"]["data_date"] is None and [point["date"] for point in report["trend"]] == [
        "2026-11-24"
    ]
    assert "simulated" not in Store(cli.output).read_manifest("2026-11-24")

    refused = cli("diff", "--from", "2026-11-23", "--to", "2026-11-24")
    assert refused.exit_code == 2, refused.output
    assert "2026-11-23" in refused.output and "simulated" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert cli("diff", "--from", "2026-11-22", "--to", "2026-11-23").exit_code == 0  # both simulated
    # And the other way round: the demo's date exported again compares with the demo's day before.
    again = cli("--date", "2026-11-23", "export", "kong", "cequence", config_dir=sandbox.config_dir)
    assert again.exit_code == 0, again.output
    report = json.loads((cli.output / "2026-11-23" / "api-inventory-2026-11-23.json").read_text())
    assert [report["run"]["tools"][tool]["baseline"] for tool in ("kong", "cequence")] == [False, False]


def test_sandbox_hint_runs_where_apiinv_is_not_on_path(cli, tmp_path: Path) -> None:
    import shlex

    result = cli("sandbox", "serve", "--size", "5", "--for", "0", "--write-config", str(tmp_path / "sb"))
    assert result.exit_code == 0, result.output
    hint = next(line for line in result.output.splitlines() if line.startswith("try: "))
    command = shlex.split(hint.removeprefix("try: "))
    assert Path(command[0]).is_absolute() and Path(command[0]).is_file(), hint
    assert command[1:] == ["--config-dir", str(tmp_path / "sb"), "collect", "--all"]


@pytest.mark.parametrize(
    "option",
    ["--rate-limit=kong", "--rate-limit=nosuch=5", "--fault=kong=explode", "--fault=kong=status,times=many"],
)
def test_exit_2_for_malformed_sandbox_options(cli, option: str) -> None:
    result = cli("sandbox", "serve", option, "--for", "0")
    assert result.exit_code == 2, result.output
    assert "apiinv: " in result.output
