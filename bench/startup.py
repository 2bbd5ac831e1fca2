"""Cold start of `apiinv --help` against the floor of any Typer CLI: a minimal two-command app.

Both are run alternately in fresh processes in the same session; prints medians and the ratio
(target: at most 1.3).   Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_APP = '''
import typer

app = typer.Typer(pretty_exceptions_show_locals=False)


@app.command()
def hello(name: str) -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def bye(name: str) -> None:
    """Say bye."""
    typer.echo(f"bye {name}")


if __name__ == "__main__":
    app()
'''


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    apiinv = shutil.which("apiinv", path=str(Path(sys.executable).parent)) or shutil.which("apiinv")
    if apiinv is None:
        sys.exit("apiinv is not installed in this environment (make install)")
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal_app.py"
        minimal.write_text(MINIMAL_APP)
        baseline_cmd = [sys.executable, str(minimal), "--help"]
        apiinv_cmd = [apiinv, "--help"]
        for argv in (baseline_cmd, apiinv_cmd):  # warm the OS file cache once
            wall(argv)
        baseline, ours = [], []
        for _ in range(args.runs):
            baseline.append(wall(baseline_cmd))
            ours.append(wall(apiinv_cmd))
    base, mine = statistics.median(baseline), statistics.median(ours)
    print(f"minimal two-command Typer app --help: median {base * 1000:.0f} ms over {args.runs} runs")
    print(f"apiinv --help:                        median {mine * 1000:.0f} ms over {args.runs} runs")
    print(f"ratio: {mine / base:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
