"""How each stage's cost grows with the estate: `bench/memory.py`'s measurement at N and at 4N APIs.

Prints, per day and stage, wall time and peak RSS at both sizes and their ratios. A stage that grows
linearly costs 4x at 4N; the target is at most 1.15x faster than the estate (time ratio <= 4.6).
Small sizes by default (a few minutes on 2 cores); the target's are `--size 25000`.

    python bench/scale.py [--size 1000] [--days 2] [--no-whole]
"""

from __future__ import annotations

import argparse

from memory import measure_estate

TARGET = 4 * 1.15


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1000, help="N: the smaller estate, in APIs")
    parser.add_argument("--days", type=int, default=2, choices=(1, 2, 3))
    parser.add_argument(
        "--no-whole", dest="whole", action="store_false", help="skip `run --all` in one process"
    )
    args = parser.parse_args()
    small = measure_estate(args.size, args.days, args.whole)
    large = measure_estate(4 * args.size, args.days, args.whole)
    print(f"growth from {args.size:,} to {4 * args.size:,} APIs (linear 4.00x, target at most {TARGET:.2f}x)")
    for (day, stage), at_n in small.items():
        at_4n = large[day, stage]
        time_ratio, rss_ratio = at_4n.wall / at_n.wall, at_4n.rss / at_n.rss
        verdict = "ok" if time_ratio <= TARGET else "OVER"
        print(
            f"day {day} {stage:9} time {at_n.wall:7.1f} s -> {at_4n.wall:7.1f} s: {time_ratio:5.2f}x"
            f" {verdict:4}  CPU {at_4n.cpu / at_n.cpu if at_n.cpu else 0:5.2f}x"
            f" (simulators {at_4n.simulator_cpu / at_n.simulator_cpu if at_n.simulator_cpu else 0:5.2f}x)"
            f"  peak RSS {at_n.rss / 1e6:6,.0f} -> {at_4n.rss / 1e6:6,.0f} MB: {rss_ratio:5.2f}x"
            + (f"  tree PSS {at_n.pss / 1e6:6,.0f} -> {at_4n.pss / 1e6:6,.0f} MB" if at_n.pss else "")
        )


if __name__ == "__main__":
    main()
