from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RUN_DATE

from apiinv.store import Store, read_json

DATE = str(RUN_DATE)


def collect(cli, sandbox, *args: str):
    return cli("--date", DATE, "collect", *args, config_dir=sandbox.config_dir)


def test_collect_all_writes_every_raw_file_and_the_manifest(cli, sandbox) -> None:
    result = collect(cli, sandbox, "--all")
    assert result.exit_code == 0, result.output
    store = Store(cli.output)
    truth = sandbox.truth()
    for tool in sandbox.tools:
        raw = read_json(store.raw_path(DATE, tool))
        assert raw["tool"] == tool and raw["date"] == DATE
        assert store.step(DATE, tool, "collect")["status"] == "ok"
        assert f"{tool}: ok:" in result.output
    assert read_json(store.raw_path(DATE, "kong"))["counts"] == truth["kong"]


def test_named_tools_only(cli, sandbox) -> None:
    result = collect(cli, sandbox, "kong", "cequence")
    assert result.exit_code == 0
    assert sorted(p.name for p in (cli.output / DATE / "raw").iterdir()) == ["cequence.json", "kong.json"]


@pytest.mark.sandbox_tools("kong")
def test_exit_2_for_an_unknown_tool_with_a_suggestion(cli, sandbox) -> None:
    result = collect(cli, sandbox, "kong", "knog")
    assert result.exit_code == 2
    assert re.search(r"unknown tool 'knog'; did you mean 'kong'\? .*\[USAGE_ERROR \w+\]", result.output)
    assert collect(cli, sandbox).exit_code == 2  # no tool at all


@pytest.mark.sandbox_tools("kong")
def test_diff_of_an_unknown_tool_is_a_usage_error(cli, sandbox) -> None:
    assert collect(cli, sandbox, "kong").exit_code == 0
    assert cli("--date", DATE, "process", "kong", config_dir=sandbox.config_dir).exit_code == 0
    result = cli("diff", "--from", DATE, "--to", DATE, "nonesuch", config_dir=sandbox.config_dir)
    assert result.exit_code == 2 and "no processed files of 'nonesuch'" in result.output


FAULTS = [
    ("cequence", dict(kind="status", status=503, times=3)),
    ("42crunch", dict(kind="html502", times=2, path="/api/v1/apis/")),
    ("kong", dict(kind="reset", times=2)),
    ("apigee", dict(kind="cut", times=2, path="/revisions/")),
    ("42crunch", dict(kind="truncate", times=1, path="/collections/")),
    ("kong", dict(kind="status", status=429, times=2, retry_after="1")),
    ("cequence", dict(kind="expire_tokens", times=1, path="/endpoints")),
]


@pytest.mark.parametrize("tool, fault", FAULTS, ids=[f"{t}-{f['kind']}" for t, f in FAULTS])
def test_each_fault_kind_is_survived(cli, sandbox, tool: str, fault: dict) -> None:
    options = dict(fault)
    sandbox.apps[tool].inject(options.pop("kind"), **options)
    result = collect(cli, sandbox, tool)
    assert result.exit_code == 0, result.output
    manifest = Store(cli.output).step(DATE, tool, "collect")
    assert manifest["retries"] + manifest["auth_refreshes"] >= 1
    truth = sandbox.truth()[tool]
    assert {k: manifest["counts"][k] for k in truth} == truth


def test_a_response_slower_than_the_timeout_is_retried(cli, sandbox) -> None:
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("  auth_type: none\n", "  auth_type: none\n  timeout: 0.5\n")
    )
    sandbox.apps["kong"].inject("slow", delay=1.5)
    result = collect(cli, sandbox, "kong")
    assert result.exit_code == 0, result.output
    assert Store(cli.output).step(DATE, "kong", "collect")["retries"] == 1


def test_exit_5_when_one_tool_fails_and_its_earlier_raw_file_is_kept(cli, sandbox) -> None:
    assert collect(cli, sandbox, "--all").exit_code == 0
    store = Store(cli.output)
    before = store.raw_path(DATE, "42crunch").read_bytes()
    sandbox.apps["42crunch"].inject("status", status=500, times=10_000)
    result = collect(cli, sandbox, "--all", "--no-cache")
    assert result.exit_code == 5, result.output
    assert re.search(
        r"42crunch: FAILED: GET \S+ answered 500: .* \[DATA_COLLECTION_ERROR \w+\]; the earlier raw "
        r"file of this date is kept",
        result.output,
    )
    assert store.raw_path(DATE, "42crunch").read_bytes() == before
    step = store.step(DATE, "42crunch", "collect")
    assert step["status"] == "failed" and step["errors"][0]["code"] == "DATA_COLLECTION_ERROR"
    for tool in ("apigee", "cequence", "kong"):
        assert store.step(DATE, tool, "collect")["status"] == "ok"


def test_exit_4_when_every_tool_fails(cli, sandbox) -> None:
    sandbox.inject_everywhere("status", status=503, times=10_000, retry_after="0")
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(re.sub(r"(  api_base_url: .*\n)", r"\1  max_retries: 1\n", tools_yaml.read_text()))
    result = collect(cli, sandbox, "--all")
    assert result.exit_code == 4, result.output
    assert result.output.count("FAILED") == len(sandbox.tools)


def test_a_missing_secret_fails_only_that_tool_and_names_the_variable(cli, sandbox) -> None:
    env = sandbox.config_dir / ".env"
    env.write_text(
        "".join(
            line + "\n"
            for line in env.read_text().splitlines()
            if not line.startswith("APIINV_CEQUENCE_CLIENT_SECRET")
        )
    )
    result = collect(cli, sandbox, "--all")
    assert result.exit_code == 5
    assert "cequence: FAILED: credentials missing: set APIINV_CEQUENCE_CLIENT_SECRET" in result.output


def test_a_rerun_after_a_partial_failure_refetches_only_what_failed(cli, sandbox, tmp_path: Path) -> None:
    app = sandbox.apps["42crunch"]

    def served() -> int:
        return sum(app.hits.values())

    before = served()
    cold = cli(
        "--date",
        DATE,
        "collect",
        "42crunch",
        "--no-cache",
        config_dir=sandbox.config_dir,
        output=tmp_path / "cold",
    )
    assert cold.exit_code == 0
    cold_requests = served() - before

    app.inject("status", status=500, times=10_000, path="/assessmentreport")
    assert collect(cli, sandbox, "42crunch", "kong").exit_code == 5
    app.faults.clear()
    before = served()
    result = collect(cli, sandbox, "42crunch", "kong")
    assert result.exit_code == 0, result.output
    step = Store(cli.output).step(DATE, "42crunch", "collect")
    assert step["cache_hits"] > 0 and f"{step['cache_hits']:,} from cache" in result.output, (
        step,
        result.output,
    )
    assert served() - before == step["requests"] < cold_requests, (served() - before, step, cold_requests)


def test_eight_workers_under_a_rate_limit_never_exceed_it(tmp_path: Path, cli) -> None:
    from apiinv.sandbox.launch import Sandbox

    with Sandbox(size=40, seed=11, day=RUN_DATE, rate_limits={"42crunch": 1200}) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        result = cli("--date", DATE, "collect", "42crunch", "--workers", "8", config_dir=sandbox.config_dir)
        assert result.exit_code == 0, result.output
        app = sandbox.apps["42crunch"]
        assert app.throttled == 0
        # 20 a second; the server sees arrivals late by scheduling jitter (allowed: 100 ms).
        assert app.max_in_window(2.0) <= 2 * 20 + 2 + 1


def test_no_secret_reaches_any_file_under_output(cli, sandbox) -> None:
    sandbox.apps["cequence"].inject("expire_tokens")
    sandbox.apps["42crunch"].inject("status", status=401, times=1, path="/collections/")
    assert collect(cli, sandbox, "--all").exit_code in (0, 5)
    cli(
        "--log-level", "DEBUG", "--date", DATE, "collect", "--all", "--refresh", config_dir=sandbox.config_dir
    )
    secrets = [secret for simulator in sandbox.simulators.values() for secret in simulator.secrets()]
    blob = b"".join(p.read_bytes() for p in cli.output.rglob("*") if p.is_file())
    assert b"apiinv" in blob or b"kong" in blob
    for secret in secrets:
        assert secret.encode() not in blob


def test_sandbox_serve_then_collect_as_a_new_user_would(tmp_path: Path) -> None:
    """`apiinv sandbox serve` in one terminal, `apiinv --config-dir <folder> collect --all` in another."""
    apiinv = Path(sys.executable).parent / "apiinv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIINV_")}
    server = subprocess.Popen(
        [
            str(apiinv),
            "--date",
            DATE,
            "sandbox",
            "serve",
            "--size",
            "30",
            "--for",
            "120",
            "--write-config",
            "sb",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines = [server.stdout.readline()]
        while lines[-1] and not lines[-1].startswith("try: "):
            lines.append(server.stdout.readline())
        assert lines[-1] == f"try: {apiinv} --config-dir sb collect --all\n", lines
        result = subprocess.run(
            [str(apiinv), "--date", DATE, "--config-dir", "sb", "collect", "--all"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        # Progress goes to stderr, timestamped without a terminal; the result to stdout.
        tools = len(lines) - 2  # a line per simulator, then the configuration and the hint
        assert result.stderr.count(": ok:") == tools and re.search(
            r"^\d{4}-\d\d-\d\dT\S+Z ", result.stderr, re.M
        )
        assert result.stdout == "raw files: output/2026-11-23/raw\n"
        assert (tmp_path / "output" / DATE / "raw" / "apigee.json").exists()
        assert oct((tmp_path / "sb" / ".env").stat().st_mode & 0o777) == "0o600"
        checked = subprocess.run(
            [str(apiinv), "validate-config", "--config-dir", "sb"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert checked.returncode == 0 and "planner.yaml: ok (1 schedules)" in checked.stdout, checked.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_tools_check_makes_one_authenticated_call_per_tool(cli, sandbox) -> None:
    result = cli("tools", "--check", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    checks = [line for line in result.output.splitlines() if line.startswith(("ok ", "FAILED"))]
    assert len(checks) == len(sandbox.tools) and all(line.startswith("ok") for line in checks)
    assert any("organization acme-sandbox: 2 environments" in line for line in checks)
    assert sum(sandbox.apps["kong"].hits.values()) == 1


def test_tools_check_exit_5_when_one_tool_refuses(cli, sandbox) -> None:
    env = sandbox.config_dir / ".env"
    env.write_text(env.read_text().replace(sandbox.api_key, "api_00000000-0000-4000-8000-000000000000"))
    result = cli("tools", "--check", config_dir=sandbox.config_dir)
    assert result.exit_code == 5
    assert "FAILED 42crunch: GET" in result.output and "credentials refused (401)" in result.output


def test_errors_reach_the_json_log_with_the_id_the_console_shows(cli, sandbox) -> None:
    import json

    sandbox.apps["kong"].inject("status", status=500, times=100_000)
    result = cli("--date", DATE, "--log-json", "collect", "kong", config_dir=sandbox.config_dir)
    assert result.exit_code == 4
    error_id = re.search(r"\[DATA_COLLECTION_ERROR (\w+)\]", result.output).group(1)
    entries = [json.loads(line) for line in (cli.output / "logs" / "apiinv.log").read_text().splitlines()]
    logged = [e for e in entries if e.get("error_id") == error_id]
    assert logged and logged[0]["level"] == "error" and logged[0]["tool"] == "kong"
    console = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert console and all({"ts", "level", "msg"} <= set(entry) for entry in console)
