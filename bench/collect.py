"""Collection against the simulators is bound by latency and rate limits, not by apiinv.

Starts `apiinv sandbox serve` in its own process with per-response latency and per-vendor rate limits,
collects every tool with --workers N and then with --workers 1, and prints, per run, the wall time over
the bound computed from each tool's request count, the latency, the workers and the rate limit
(target: at most 1.2), and the speed-up of N workers over one.

Then the rate-limited case: a vendor that allows fewer requests than tools.yaml says answers 429 with
Retry-After; the simulator counts the requests that still arrived while the time it gave was not over
(target: 0, since every worker of the tool pauses, not only the one refused).

    python bench/collect.py [--size 300] [--latency-ms 20] [--workers 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from apiinv import config
from apiinv.pipeline.collect import collect
from apiinv.sandbox.launch import Sandbox
from apiinv.store import Store

RATE_LIMITS = {"42crunch": 6000, "apigee": 6000, "cequence": 600, "kong": 6000}


def bound(requests: int, latency: float, workers: int, per_minute: float) -> float:
    """The least time R requests can take: latency spread over the workers, or the rate limit's spacing."""
    return max(requests * latency / workers, max(0, requests - 1) * 60.0 / per_minute)


def run(
    cfg: config.Config, output: Path, workers: int, latency: float
) -> tuple[float, float, dict[str, int]]:
    store = Store(output)
    tools = cfg.select(list(RATE_LIMITS))  # the vendors whose simulators this bench paces
    started = time.perf_counter()
    outcomes = collect(tools, store, date(2026, 11, 23), workers=workers, use_cache=False)
    wall = time.perf_counter() - started
    failed = [o.summary() for o in outcomes if not o.ok]
    if failed:
        sys.exit("collection failed: " + "; ".join(failed))
    requests = {o.tool: o.stats["requests"] for o in outcomes}
    limit = max(bound(n, latency, workers, RATE_LIMITS[tool]) for tool, n in requests.items())
    return wall, limit, requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    apiinv = Path(sys.executable).parent / "apiinv"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        limits = [f"--rate-limit={tool}={rpm}" for tool, rpm in RATE_LIMITS.items()]
        server = subprocess.Popen(
            [
                str(apiinv),
                "--date",
                "2026-11-23",
                "--output",
                str(folder / "sim-output"),
                "sandbox",
                "serve",
                "--size",
                str(args.size),
                "--latency-ms",
                str(args.latency_ms),
                *limits,
                "--for",
                "900",
                "--write-config",
                str(folder / "sb"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(6):
                server.stdout.readline()
            cfg = config.load(folder / "sb")
            print(
                f"estate: {args.size} APIs; latency {args.latency_ms:g} ms; rate limits (per minute): "
                + ", ".join(f"{t} {r}" for t, r in RATE_LIMITS.items())
            )
            results = {}
            for workers in (args.workers, 1):
                wall, limit, requests = run(cfg, folder / f"out-{workers}", workers, latency)
                results[workers] = wall
                print(
                    f"--workers {workers}: {wall:.2f} s for {sum(requests.values())} requests "
                    f"({', '.join(f'{t} {n}' for t, n in requests.items())}); bound {limit:.2f} s; "
                    f"ratio {wall / limit:.2f} (target <= 1.2)"
                )
            speedup = results[1] / results[args.workers]
            print(f"speed-up of --workers {args.workers} over --workers 1: {speedup:.1f}x")
        finally:
            server.terminate()
            server.wait(timeout=10)
        rate_limited(folder, min(args.size, 60), args.workers)


def rate_limited(folder: Path, size: int, workers: int) -> None:
    """42Crunch allows 240 requests a minute; tools.yaml sets no rate limit, so the vendor's 429s pace it."""
    with Sandbox(size=size, day=date(2026, 11, 23), rate_limits={"42crunch": 240}) as sandbox:
        cfg = config.load(sandbox.write_config(folder / "limited"))
        tool = cfg.tools["42crunch"]
        tool.rate_limit = None
        started = time.perf_counter()
        (outcome,) = collect(
            [tool], Store(folder / "out-limited"), date(2026, 11, 23), workers=workers, use_cache=False
        )
        wall = time.perf_counter() - started
        app = sandbox.apps["42crunch"]
        print(
            f"rate-limited 42crunch (240/min, unknown to tools.yaml), --workers {workers}: {outcome.status}, "
            f"{outcome.stats.get('requests', 0)} requests in {wall:.1f} s, {app.throttled} answered 429; "
            f"requests refused after a Retry-After: {app.ignored_retry_after} (target 0)"
        )


if __name__ == "__main__":
    main()
