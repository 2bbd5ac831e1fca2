"""What every source with a simulator does, run over the registry: a new source gets these for free.

- What it collects is what its simulator holds, from one API to thousands (every page, every listing).
- Vendors add and drop fields over time: normalize survives any field missing or oddly typed. Real raw
  documents from the simulators are damaged at random (a key removed, a value replaced by None, a
  string, a number or an empty list) and normalize must still run to the end; what it yields is
  validated, so a damaged record is rejected rather than crashing processing.
- No secret (the credentials apiinv is given, the tokens a vendor hands out) reaches any file apiinv
  writes, its logs at DEBUG and its HTTP cache included.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import RUN_DATE, fetch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from apiinv import registry
from apiinv.inventory.records import problems
from apiinv.sandbox.launch import Sandbox
from apiinv.schemas import packaged as schema

SIMULATED = [t for t in registry.known_types() if registry.load(t).simulator]  # plugins included


def running(sandbox: Sandbox, tool: str) -> None:
    if tool not in sandbox.simulators:
        pytest.skip(f"{tool}: {sandbox.unavailable[tool]}")


@pytest.fixture(scope="module", params=[1, 40, 2000])
def sized(request, tmp_path_factory):
    """One sandbox per estate size, shared by the sources' tests (collecting changes nothing in it)."""
    with Sandbox(size=request.param, seed=3, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path_factory.mktemp("sandbox"))
        yield sandbox


@pytest.mark.parametrize("tool", SIMULATED)
def test_collected_counts_equal_the_simulators_truth(sized: Sandbox, tool: str, tmp_path: Path) -> None:
    running(sized, tool)
    # A vendor's own pacing (Apigee's 6,000 calls a minute) would make 2,000 APIs take seconds more.
    outcome, raw = fetch(sized, tool, tmp_path, rate_limit=None)
    assert outcome.ok, outcome.summary()
    truth = sized.truth()[tool]
    assert {name: raw["counts"].get(name) for name in truth} == truth


# --------------------------------------------------------------------------------------------- tolerance


@cache
def raw_documents() -> dict[str, dict[str, Any]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, Sandbox(size=12, seed=9, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(Path(tmp) / "sb")
        return {tool: fetch(sandbox, tool, Path(tmp) / tool)[1] for tool in sandbox.simulators}


def _paths(document: Any, prefix: tuple = ()) -> list[tuple]:
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            found.append((*prefix, key))
            found += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            found.append((*prefix, index))
            found += _paths(value, (*prefix, index))
    return found


REPLACEMENTS = st.sampled_from(["<delete>", None, "", "text", 7, -1.5, [], {}, True])


@pytest.mark.parametrize("tool", SIMULATED)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_normalize_survives_missing_and_odd_fields(tool: str, data) -> None:
    if tool not in raw_documents():
        pytest.skip(f"{tool}: its simulator cannot run here")
    raw = copy.deepcopy(raw_documents()[tool])
    paths = [p for p in _paths(raw["data"]) if p]
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        path = data.draw(st.sampled_from(paths))
        parent = raw["data"]
        try:
            for step in path[:-1]:
                parent = parent[step]
        except (KeyError, IndexError, TypeError):
            continue
        replacement = data.draw(REPLACEMENTS)
        if not isinstance(parent, dict | list):
            continue
        if isinstance(parent, dict) and replacement == "<delete>":
            parent.pop(path[-1], None)
        elif isinstance(parent, list) and (not isinstance(path[-1], int) or path[-1] >= len(parent)):
            continue  # an earlier draw replaced what this path went through
        else:
            parent[path[-1]] = None if replacement == "<delete>" else replacement
    for record in registry.load(tool).normalize(raw):  # never an exception
        reasons = problems(record)
        # Either valid by the record schema, or rejected with reasons that each name a field.
        assert bool(reasons) is not record_schema().is_valid(record), (record, reasons)
        assert all(reason.split(": ", 1)[0] and ": " in reason for reason in reasons), reasons


@cache
def record_schema() -> Draft202012Validator:
    return Draft202012Validator(schema("record"))


# ----------------------------------------------------------------------------------------------- secrets


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with Sandbox(size=20, seed=5, day=RUN_DATE, kong_admin_token=True) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path_factory.mktemp("sandbox"))
        yield sandbox


@pytest.mark.parametrize("tool", SIMULATED)
def test_no_secret_reaches_any_file_apiinv_writes(shared: Sandbox, tool: str, cli) -> None:
    running(shared, tool)
    day = str(RUN_DATE)
    result = cli("--log-level", "DEBUG", "--date", day, "run", tool, config_dir=shared.config_dir)
    assert result.exit_code == 0, result.output
    assert (cli.output / day / "raw" / f"{tool}.json").is_file()
    secrets = shared.simulators[tool].secrets()
    if not secrets:
        pytest.skip(f"{tool}: its simulator hands out no secret")
    files = [path for path in cli.output.rglob("*") if path.is_file()]
    for secret in secrets:
        assert [path.name for path in files if secret.encode() in path.read_bytes()] == [], secret[:4]
