"""`apiinv demo`: the whole pipeline against the bundled simulators, for two consecutive dates (so the
report shows changes as well as findings), with no credentials and no network beyond 127.0.0.1.

Its data is simulated: it goes to a folder of its own (``demo-output/`` unless ``--output`` names one)
and every step, report and run it records is marked ``"simulated": true`` in the date's manifest, so
that real data is never compared with it.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

from apiinv import config
from apiinv.console import Console
from apiinv.pipeline.run import RunPlan, RunResult, run
from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store

DEMO_OUTPUT = Path("demo-output")


def run_demo(
    output: Path,
    *,
    today: date,
    size: int = 200,
    workers: int | None = None,
    console: Console | None = None,
) -> list[tuple[date, RunResult]]:
    console = console or Console()
    store = Store(output, simulated=True)
    console.progress(f"simulated data, marked so in its manifests, goes to {output.resolve()}")
    days = [today - timedelta(days=1), today]
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="apiinv-demo-") as tmp,
        Sandbox(size=size, day=days[0]) as sandbox,
    ):
        cfg = config.load(sandbox.write_config(Path(tmp)))
        tools = cfg.select(["all"])
        for tool, reason in sandbox.unavailable.items():
            console.progress(f"{tool}: not in this demo: {reason}")
        for day in days:
            sandbox.set_date(day)
            console.progress(f"== {day}: the simulators of {', '.join(t.name for t in tools)} ({size} APIs)")
            results.append(
                (
                    day,
                    run(
                        cfg, store.at(day), RunPlan(tools, workers=workers), use_cache=False, console=console
                    ),
                )
            )
    return results
