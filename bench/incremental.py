"""A daily run over an estate that changed a little: incremental collection against a full crawl.

Day one is crawled in full. Day two (the estate has drifted by a day: APIs came and went, specs were
revised, audits re-run) is then crawled twice from copies of day one's output: incrementally (the
default) and with --full. Prints both request counts and wall times, their ratios (target for requests:
at most 0.10), how many items were reused, and whether the processed records are identical (they must
be). The simulators run in this process with a per-response latency.

    python bench/incremental.py [--size 2000] [--latency-ms 5] [--workers 8]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from apiinv import config
from apiinv.pipeline.collect import collect
from apiinv.pipeline.process import process
from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store, read_json

DAY_ONE = date(2026, 11, 22)
DAY_TWO = DAY_ONE + timedelta(days=1)


def crawl(cfg: config.Config, output: Path, day: date, workers: int, full: bool) -> tuple[float, dict, dict]:
    store = Store(output)
    tools = cfg.select(["all"])
    started = time.perf_counter()
    outcomes = collect(tools, store.at(day), workers=workers, use_cache=False, full=full)
    wall = time.perf_counter() - started
    failed = [o.summary() for o in outcomes if not o.ok]
    if failed:
        sys.exit("collection failed: " + "; ".join(failed))
    process(tools, store.at(day), cfg.analysis)
    requests = {o.tool: o.stats["requests"] for o in outcomes}
    reused = {o.tool: o.stats.get("reused", 0) for o in outcomes}
    return wall, requests, reused


def records(output: Path, day: date, tool: str) -> list[str]:
    found = read_json(output / str(day) / "processed" / f"{tool}.json")["records"]
    return sorted(repr({k: v for k, v in r.items() if k != "collected_at"}) for r in found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Sandbox(size=args.size, seed=7, day=DAY_ONE, latency=args.latency_ms / 1000) as sandbox,
    ):
        folder = Path(tmp)
        cfg = config.load(sandbox.write_config(folder / "sb"))
        _, day_one, _ = crawl(cfg, folder / "incremental", DAY_ONE, args.workers, full=True)
        shutil.copytree(folder / "incremental", folder / "full")
        sandbox.set_date(DAY_TWO)
        inc_wall, inc_requests, reused = crawl(cfg, folder / "incremental", DAY_TWO, args.workers, full=False)
        full_wall, full_requests, _ = crawl(cfg, folder / "full", DAY_TWO, args.workers, full=True)
        identical = all(
            records(folder / "incremental", DAY_TWO, t) == records(folder / "full", DAY_TWO, t)
            for t in cfg.tools
        )
    print(f"estate: {args.size:,} APIs, latency {args.latency_ms:g} ms, {args.workers} workers")
    print(f"day one (full): {sum(day_one.values()):,} requests")
    for tool in cfg.tools:
        print(
            f"  {tool:9} day two: incremental {inc_requests[tool]:6,} requests ({reused[tool]:,} reused), "
            f"full {full_requests[tool]:6,}"
        )
    total_inc, total_full = sum(inc_requests.values()), sum(full_requests.values())
    print(f"requests: {total_inc:,} vs {total_full:,}: {total_inc / total_full:.3f}x (target at most 0.10)")
    print(f"wall time: {inc_wall:.1f} s vs {full_wall:.1f} s: {inc_wall / full_wall:.2f}x")
    print(f"processed records identical: {'yes' if identical else 'NO'}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
