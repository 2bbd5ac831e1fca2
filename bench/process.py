"""Processing throughput and memory: normalize and validate N traffic endpoints (default 1,000,000).

Writes a synthetic Cequence raw file of N endpoints, then runs `process` on it in a fresh process and
prints records per second and the peak RSS per record, next to the peak RSS of merely loading the
same raw file (the baseline: what holding the input costs).

    python bench/process.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from apiinv.store import Store, write_atomic

CHILD = """
import resource, sys, time
from datetime import date
from pathlib import Path
from apiinv.config import Analysis, ToolConfig
from apiinv.store import Store, read_json
root, mode = Path(sys.argv[1]), sys.argv[2]
store = Store(root)
started = time.perf_counter()
if mode == "load":
    raw = read_json(store.raw_path("2026-11-23", "cequence"))
    count = len(raw["data"]["endpoints"])
else:
    from apiinv.pipeline.process import process_tool
    tool = ToolConfig(name="cequence", type="cequence", base_url="http://x", auth_type="none")
    outcome = process_tool(tool, store, date(2026, 11, 23), Analysis())
    assert outcome.ok, outcome.summary()
    count = outcome.records
print(count, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def endpoints(count: int):
    for i in range(count):
        yield {
            "id": f"ep-{i}",
            "host": f"svc{i % 500}.acme.example",
            "method": ("GET", "POST", "PUT", "DELETE")[i % 4],
            "path": f"/api/v{i % 3 + 1}/resource{i % 1000}/{i}",
            "active": i % 7 != 0,
            "transactionCount": i * 13 % 100_000,
            "riskScore": (i % 100) / 10,
            "riskLevel": "MEDIUM",
            "sensitiveDataTypes": ["PII"] if i % 5 == 0 else [],
            "authenticated": i % 9 != 0,
            "authType": "OAUTH2" if i % 9 else None,
            "accessType": "EXTERNAL",
            "apiName": f"api-{i % 1000}",
            "firstSeen": "2026-01-02T03:04:05Z",
            "lastSeen": "2026-11-22T10:00:00Z",
        }


def write_raw(store: Store, count: int) -> int:
    def chunks():
        yield b'{"schema_version":1,"tool":"cequence","type":"cequence","date":"2026-11-23",'
        yield b'"collected_at":"2026-11-23T02:00:00Z","data":{"fields":{},"hosts":[],"endpoints":['
        for i, endpoint in enumerate(endpoints(count)):
            yield (b"," if i else b"") + orjson.dumps(endpoint)
        yield b"]}}"

    path = store.raw_path("2026-11-23", "cequence")
    write_atomic(path, chunks())
    return path.stat().st_size


def measure(root: Path, mode: str) -> tuple[int, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), mode], check=True, capture_output=True, text=True
    )
    count, seconds, rss = out.stdout.split()
    return int(count), float(seconds), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        started = time.perf_counter()
        size = write_raw(store, args.records)
        took = time.perf_counter() - started
        print(f"raw file: {args.records:,} endpoints, {size / 1e6:.0f} MB (written in {took:.0f} s)")
        _, load_seconds, load_rss = measure(store.root, "load")
        count, seconds, rss = measure(store.root, "process")
        out_size = store.processed_path("2026-11-23", "cequence").stat().st_size
    print(
        f"baseline, loading the raw file only: {load_seconds:.1f} s, peak RSS {load_rss / 1e6:.0f} MB "
        f"({load_rss / args.records:.0f} bytes per record)"
    )
    print(
        f"process: {count:,} records in {seconds:.1f} s = {count / seconds:,.0f} records/s; "
        f"peak RSS {rss / 1e6:.0f} MB = {rss / count:.0f} bytes per record "
        f"({rss / load_rss:.2f}x the load baseline); output {out_size / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
