"""What the preset tests share: a configuration folder as a user writes it, checked as validate-config
checks it, and one tool collected from it over HTTP and normalized."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from conftest import RUN_DATE

from apiinv import config
from apiinv.sources import rest


def write_config(folder: Path, entries: dict[str, Any], env: dict[str, str]) -> Path:
    """tools.yaml of ``entries``, .env of ``env`` and an empty planner.yaml in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tools.yaml").write_text(yaml.safe_dump(entries))
    (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (folder / "planner.yaml").write_text("schedules: {}\n")
    return folder


def validated(folder: Path) -> Path:
    """``folder``, once validate-config finds no problem in it."""
    loaded, report = config.validate(folder, folder / ".env")
    assert report.problems == [] and loaded is not None, report.problems
    return folder


def collected(folder: Path, name: str, tmp_path: Path, **overrides: Any) -> tuple[Any, list[dict], list[str]]:
    """(outcome, records, warnings) of tool ``name`` as apiinv loads it from ``folder`` and collects it
    (``overrides``: ToolConfig fields, retries kept short)."""
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store, read_json

    tool = dataclasses.replace(config.load(folder).tools[name], **{"retry_backoff": 0.01, **overrides})
    store = Store(tmp_path / "output")
    outcome = collect_tool(tool, store.at(RUN_DATE), use_cache=False)
    raw_path = store.raw_path(RUN_DATE, name)
    if not raw_path.exists():
        return outcome, [], []
    records = list(rest.SOURCE.normalize(read_json(raw_path)))
    return outcome, records, store.step(RUN_DATE, name, "collect")["warnings"]
