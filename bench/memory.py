"""Wall time and peak memory per stage of a daily run over a large estate, day after day.

One sandbox serves a generated estate in its own process (this script, with --serve) for the whole
measurement: its URLs stay the same from day to day and only its date changes, as a real estate's does,
so day two is collected incrementally from day one (the `reused` counts per tool, read from the
manifest, show it). Per day, `apiinv collect --all`, `process --all` and `export` run one after
another, each in its own process, and then `run --all` in one process as cron runs it (into an output
folder of its own, with its own day one). Prints each stage's wall time and peak RSS.

A process's peak RSS counts the pages a forked workbook writer shares with the export again; the
tree's PSS (sampled every half second from /proc) counts them once: what the machine had to give.

    python bench/memory.py [--size 20000 ...] [--days 2] [--no-whole | --whole-only]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DAY_ONE = date(2026, 11, 22)
STAGES = (["collect", "--all", "--no-cache"], ["process", "--all"], ["export"])
WHOLE = "run --all"  # the stage name of `run --all` in one process


@dataclass
class Measured:
    wall: float  # seconds
    rss: int  # peak resident set of the largest process, bytes
    pss: int  # peak proportional set of the process tree (sampled), bytes: what the machine gave it
    cpu: float = 0.0  # CPU seconds of apiinv (its forked writers included)
    simulator_cpu: float = 0.0  # CPU seconds the simulators spent answering it meanwhile


def tree_pss(root: int) -> int:
    """The proportional set size of ``root`` and its descendants, bytes: pages they share (a forked
    workbook writer's with the export) counted once, where each one's RSS counts them again."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith("Pss:"))
        except OSError:
            continue
    return total


def measured(argv: list[str]) -> Measured:
    """Wall time, peak RSS and the tree's peak PSS of one child process; exits naming the command if
    it failed."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak[0] = max(peak[0], tree_pss(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    if Path("/proc/self/smaps_rollup").exists():
        sampler.start()
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    if sampler.is_alive():
        sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv[1:])} exited {os.waitstatus_to_exitcode(status)}:\n{errors[-2000:]}")
    return Measured(wall, usage.ru_maxrss * 1024, peak[0], usage.ru_utime + usage.ru_stime)


def serve(size: int, config: Path) -> None:
    """The sandbox process: one estate on fixed URLs; each line read is the date to serve from now on."""
    from apiinv import memory
    from apiinv.sandbox.launch import Sandbox

    # The estate and each date's documents live as long as the process: every full collection of
    # the cycle collector walked all of them again, and their number grows with the traffic, so the
    # simulators' CPU grew quadratically (at 20,000 APIs half of day two's simulator CPU was the
    # collector's). Their answers leave little cyclic garbage (about 5,000 objects a day at 5,000 APIs),
    # collected between measurements.
    with memory.full_collections_held(), Sandbox(size=size, seed=7, day=DAY_ONE) as sandbox:
        sandbox.write_config(config)
        print("ready", flush=True)
        for line in sys.stdin:
            sandbox.set_date(date.fromisoformat(line.strip()))
            gc.collect()  # between measurements: the day's garbage in cycles, and the old date's views
            print("ready", flush=True)


class Server:
    """The --serve child: started once, told each new date through its stdin."""

    def __init__(self, size: int, config: Path) -> None:
        argv = [sys.executable, __file__, "--serve", str(size), "--config", str(config)]
        self.child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._ready()

    def _ready(self) -> None:
        assert self.child.stdout is not None
        if self.child.stdout.readline().strip() != "ready":
            sys.exit(f"the sandbox exited {self.child.wait()}")

    def set_date(self, day: date) -> None:
        assert self.child.stdin is not None
        self.child.stdin.write(f"{day}\n")
        self.child.stdin.flush()
        self._ready()

    def cpu(self) -> float:
        """CPU seconds the simulators have used so far: on these 2 cores a stage's wall time also
        waits on them (day two's collect at 50,000 APIs: 12 s of simulator CPU beside 17 s of
        apiinv's), so apiinv's own cost is told from theirs."""
        try:
            fields = Path(f"/proc/{self.child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # no /proc (not Linux): not counted
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(timeout=60)


def reused(output: Path, day: date) -> dict[str, int]:
    """Items reused from the previous collection, per tool, as the date's manifest records them."""
    tools = json.loads((output / str(day) / "manifest.json").read_text())["tools"]
    return {tool: steps.get("collect", {}).get("reused", 0) for tool, steps in tools.items()}


def measure_estate(
    size: int, days: int, whole: bool = True, stages: bool = True
) -> dict[tuple[int, str], Measured]:
    """(day number from 1, stage) -> its measurement, printed as it is taken."""
    apiinv = str(Path(sys.executable).parent / "apiinv")
    found: dict[tuple[int, str], Measured] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        server = Server(size, folder / "sb")
        try:
            for number in range(1, days + 1):
                day = DAY_ONE + timedelta(days=number - 1)
                server.set_date(day)
                base = [apiinv, "--quiet", "--date", str(day), "--config-dir", str(folder / "sb")]
                runs = [(stage[0], folder / "out", stage) for stage in STAGES] if stages else []
                if whole:
                    runs.append((WHOLE, folder / "whole", ["run", "--all", "--no-cache"]))
                for name, output, stage in runs:
                    serving = server.cpu()
                    taken = found[number, name] = measured([*base, "--output", str(output), *stage])
                    taken.simulator_cpu = server.cpu() - serving
                    line = f"{size:>7,} APIs day {number} {name:9} {taken.wall:7.1f} s"
                    line += f"  CPU {taken.cpu:6.1f} s, simulators {taken.simulator_cpu:6.1f} s"
                    line += f"  peak RSS {taken.rss / 1e6:7,.0f} MB"
                    if taken.pss:
                        line += f"  tree PSS {taken.pss / 1e6:7,.0f} MB"
                    if name in ("collect", WHOLE):
                        counts = reused(output, day)
                        line += "  reused " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
                    print(line, flush=True)
        finally:
            server.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, nargs="+", default=[20_000], help="estate sizes in APIs")
    parser.add_argument("--days", type=int, default=2, choices=(1, 2, 3))
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--no-whole", dest="whole", action="store_false", help="skip `run --all` in one process"
    )
    only.add_argument(
        "--whole-only", dest="stages", action="store_false", help="only `run --all` in one process"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the sandbox child
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.config)
        return
    for size in args.size:
        found = measure_estate(size, args.days, args.whole, args.stages)
        peak, tree = max(m.rss for m in found.values()), max(m.pss for m in found.values())
        print(f"estate {size:,} APIs: largest peak RSS {peak / 1e6:,.0f} MB, tree PSS {tree / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
