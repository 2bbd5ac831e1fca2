"""Vendors add and drop fields over time: normalize must survive any field missing or oddly typed.

Real raw documents from the simulators are damaged at random (a key removed, a value replaced by
None, a string, a number or an empty list) and every source's normalize must still run to the end;
what it yields is validated, so a damaged record is rejected rather than crashing processing.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from conftest import RUN_DATE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from apiinv import sources
from apiinv.config import schema
from apiinv.inventory.records import problems
from apiinv.sandbox.launch import Sandbox

TOOLS = sources.known_types()  # every registered source, plugins included


@cache
def raw_documents() -> dict[str, dict[str, Any]]:
    import tempfile
    from pathlib import Path

    from conftest import fetch

    with tempfile.TemporaryDirectory() as tmp, Sandbox(size=12, seed=9, day=RUN_DATE) as sandbox:
        sandbox.config_dir = sandbox.write_config(Path(tmp) / "sb")
        return {tool: fetch(sandbox, tool, Path(tmp) / tool)[1] for tool in TOOLS}


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


@cache
def record_schema() -> Draft202012Validator:
    return Draft202012Validator(schema("record"))


REPLACEMENTS = st.sampled_from(["<delete>", None, "", "text", 7, -1.5, [], {}, True])


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_normalize_survives_missing_and_odd_fields(tool: str, data) -> None:
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
    for record in sources.load(tool).normalize(raw):  # never an exception
        reasons = problems(record)
        # Either valid by the record schema, or rejected with reasons that each name a field.
        assert bool(reasons) is not record_schema().is_valid(record), (record, reasons)
        assert all(reason.split(": ", 1)[0] and ": " in reason for reason in reasons), reasons
