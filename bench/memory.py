"""Peak memory per stage of a daily run over a large estate.

Serves a generated estate with `apiinv sandbox serve` in its own process, then runs `apiinv collect
--all`, `apiinv process --all` and `apiinv export` one after another, each in its own process, and
prints each stage's wall time and peak RSS (target for the largest: at most 1 GB at 20,000 APIs).
Day one is crawled in full; `--days 2` adds the next day, collected incrementally (reusing day one).
Day one is then run again as cron runs it, `run --all` in one process (into a folder of its own).

    python bench/memory.py [--size 20000] [--days 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

DAY_ONE = date(2026, 11, 22)
STAGES = (["collect", "--all", "--no-cache"], ["process", "--all"], ["export"])


def measured(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in bytes, exit status) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    if child.returncode not in (0,):
        sys.exit(f"{' '.join(argv[1:])} exited {child.returncode}:\n{errors[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss * 1024, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=1, choices=(1, 2))
    parser.add_argument(
        "--no-whole", dest="whole", action="store_false", help="skip `run --all` in one process"
    )
    args = parser.parse_args()
    apiinv = str(Path(sys.executable).parent / "apiinv")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        peak = 0
        for offset in range(args.days):
            day = DAY_ONE + timedelta(days=offset)
            server = subprocess.Popen(
                [
                    apiinv,
                    "--date",
                    str(day),
                    "sandbox",
                    "serve",
                    "--size",
                    str(args.size),
                    "--for",
                    "3600",
                    "--write-config",
                    str(folder / "sb"),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert server.stdout is not None
                while not server.stdout.readline().startswith("try:"):
                    pass
                for stage in STAGES:
                    argv = [
                        apiinv,
                        "--quiet",
                        "--date",
                        str(day),
                        "--config-dir",
                        str(folder / "sb"),
                        "--output",
                        str(folder / "out"),
                        *stage,
                    ]
                    wall, rss, _ = measured(argv)
                    peak = max(peak, rss)
                    print(f"{day} {stage[0]:8} {wall:7.1f} s  peak RSS {rss / 1e6:7,.0f} MB", flush=True)
                if offset == 0 and args.whole:
                    # What cron runs: every stage in one process, into an output folder of its own.
                    argv = [apiinv, "--quiet", "--date", str(day), "--config-dir", str(folder / "sb")]
                    argv += ["--output", str(folder / "whole"), "run", "--all", "--no-cache"]
                    wall, rss, _ = measured(argv)
                    peak = max(peak, rss)
                    print(f"{day} run --all {wall:6.1f} s  peak RSS {rss / 1e6:7,.0f} MB", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
        print(f"estate {args.size:,} APIs: largest peak RSS {peak / 1e6:,.0f} MB (target at most 1,000 MB)")


if __name__ == "__main__":
    main()
