"""`apiinv demo`: the whole pipeline against the bundled simulators, for two consecutive dates, with no
credentials and no network beyond 127.0.0.1."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from apiinv import config
from apiinv.collect import ToolOutcome, collect
from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store


@dataclass
class DemoDay:
    day: date
    collected: list[ToolOutcome] = field(default_factory=list)


def run_demo(
    store: Store,
    *,
    today: date,
    size: int = 200,
    workers: int | None = None,
    echo: Callable[[str], None] = print,
) -> list[DemoDay]:
    days = [today - timedelta(days=1), today]
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="apiinv-demo-") as tmp,
        Sandbox(size=size, day=days[0]) as sandbox,
    ):
        cfg = config.load(sandbox.write_config(Path(tmp)))
        tools = cfg.select(["all"])
        for day in days:
            sandbox.set_date(day)
            echo(f"== {day}: collecting from the simulators of {', '.join(t.name for t in tools)}")
            outcome = DemoDay(day, collect(tools, store, day, workers=workers, use_cache=False))
            for tool in outcome.collected:
                echo("   " + tool.summary())
            results.append(outcome)
    return results
