"""Export speed and memory at 1,000,000 records, each against a baseline measured in the same run.

- Excel: apiinv's formatted Inventory sheet (typed cells, cleaned text, dates, colour-coded risk,
  filters, widths, split at Excel's row limit) against a bare xlsxwriter constant_memory loop that
  writes the same cells with worksheet.write. Target: at most 1.5x, at bounded memory. Then the same
  workbook through xlsxwriter's own worksheet instead of apiinv's faster rows (report/xlsx_rows.py),
  and whether the two files are identical.
- JSON: apiinv's streamed report document (written atomically: temporary file, fsync, rename) against
  one orjson.dumps of the same records written to a file. Target 1.5x.

- Workbooks: the export's workbooks (one per tool and the combined one) of a sandbox estate written
  by parallel processes against one after another in one process, from the same data in the same run.

Each record measurement runs in a fresh process (this script, with --child), so peak RSS is its own.

    python bench/export.py [--records 1000000] [--only xlsx|json|workbooks] [--size 2000] [--workers N]
                           [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

LEVELS = ("critical", "high", "medium", "low", None)


def records(count: int) -> list[dict]:
    rows = []
    for i in range(count):
        host, path = f"svc{i % 500}.acme.example", f"/api/v{i % 3}/items{i % 1000}/{{}}"
        rows.append(
            {
                "endpoint_key": f"GET {host}{path}",
                "method": "GET",
                "host": host,
                "path": path,
                "url": f"https://{host}{path}",
                "api_name": f"{'=' if i % 97 == 0 else ''}items api {i % 1000}",
                "tools": ["apigee", "cequence"],
                "gateway_status": "deployed",
                "environment": "prod",
                "auth_required": i % 9 != 0,
                "auth_types": ["oauth2"],
                "auth_source": "cequence",
                "sensitive_data": ["PII"] if i % 5 == 0 else [],
                "risk_level": LEVELS[i % 5],
                "risk_score": i % 100 / 10,
                "traffic_status": "active",
                "first_seen": "2026-01-02T03:04:05Z",
                "last_seen": "2026-11-22T10:00:00Z",
                "audit_score": float(i % 100),
                "audit_critical": i % 3,
                "audit_high": i % 4,
                "audit_medium": i % 5,
                "audit_low": i % 6,
                "audit_info": i % 7,
                "audit_date": "2026-10-01T00:00:00Z",
                "scan_state": "done",
                "collection": "Payments",
                "products": ["gold"],
                "last_modified": "2026-11-01T12:00:00Z",
                "tags": ["rate_limited"],
                "owner": "Payments",
            }
        )
    return rows


def child(count: int, mode: str, folder: Path) -> None:
    data = records(count)
    started = time.perf_counter()
    if mode in ("xlsx", "xlsx-stock"):
        from datetime import datetime

        from xlsxwriter.worksheet import Worksheet

        from apiinv.report import xlsx
        from apiinv.report.workbooks import INVENTORY_COLUMNS

        if mode == "xlsx-stock":  # the same workbook through xlsxwriter's own worksheet
            xlsx.ROWS_WORKSHEET = Worksheet
        created = {"created": datetime(2026, 1, 1)}  # type: ignore[dict-item]
        book = xlsx.Workbook(folder / f"apiinv-{mode}.xlsx", properties=created)
        book.table("Inventory", INVENTORY_COLUMNS, data)
        book.close()
    elif mode == "xlsx-bare":
        import xlsxwriter

        from apiinv.report.workbooks import INVENTORY_COLUMNS

        fields = [c.field for c in INVENTORY_COLUMNS]
        workbook = xlsxwriter.Workbook(str(folder / "bare.xlsx"), {"constant_memory": True})
        sheet = workbook.add_worksheet("Inventory")
        for row, record in enumerate(data, 1):
            for col, field in enumerate(fields):
                value = record[field]
                if value is None:
                    continue
                sheet.write(row, col, ", ".join(value) if isinstance(value, list) else value)
        workbook.close()
    elif mode == "json":
        from apiinv.report.documents import _json_chunks
        from apiinv.store import write_atomic

        write_atomic(folder / "apiinv.json", _json_chunks({"schema_version": 1}, data))
    else:
        import orjson

        (folder / "bare.json").write_bytes(orjson.dumps({"schema_version": 1, "records": data}))
    print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def workbooks(size: int, workers: int | None, repeat: int, folder: Path) -> None:
    """Serial against parallel writing of one estate's workbooks, from one dataset built once."""
    from datetime import date

    from apiinv import config
    from apiinv.pipeline.assemble import build
    from apiinv.pipeline.collect import collect
    from apiinv.pipeline.export import write_reports
    from apiinv.pipeline.process import process
    from apiinv.sandbox.launch import Sandbox
    from apiinv.store import Store

    day = date(2026, 11, 22)
    with Sandbox(size=size, seed=7, day=day) as sandbox:
        cfg = config.load(sandbox.write_config(folder / "sb"))
        store, tools = Store(folder / "out"), cfg.select(["all"])
        collect(tools, store.at(day), use_cache=False)
    process(tools, store.at(day), cfg.analysis)
    names = [tool.name for tool in tools]
    data = build(store.at(day), names, cfg.analysis, roles={t.name: t.role for t in tools})
    jobs = [*((folder / f"{name}.xlsx", name) for name in names), (folder / "api-inventory.xlsx", None)]
    taken: dict[int | None, list[float]] = {1: [], workers: []}
    for _ in range(repeat):  # alternating, the best of each: a busy machine's noise is all upwards
        for count in (1, workers):
            started = time.perf_counter()
            write_reports(jobs, data, 1_048_575, count)
            taken[count].append(time.perf_counter() - started)
    serial, parallel = min(taken[1]), min(taken[workers])
    print(
        f"workbooks: {size:,} APIs ({len(data.merged):,} endpoints, {len(jobs)} workbooks), "
        f"best of {repeat}: parallel {parallel:.1f} s, one after another {serial:.1f} s: "
        f"{parallel / serial:.2f}x"
    )


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def measure(count: int, mode: str, folder: str) -> tuple[float, int]:
    argv = [sys.executable, __file__, "--child", mode, "--records", str(count), "--folder", folder]
    seconds, rss = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
    return float(seconds), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["xlsx", "json", "workbooks"])
    parser.add_argument("--size", type=int, default=2000, help="APIs of the estate of --only workbooks")
    parser.add_argument("--workers", type=int, help="processes writing workbooks (default: one per core)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each, the best kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.records, args.child, Path(args.folder))
        return
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "workbooks"):
            workbooks(args.size, args.workers, args.repeat, Path(folder))
        for kind, bare in (("xlsx", "xlsx-bare"), ("json", "json-bare")):
            if args.only != kind and args.only is not None:
                continue
            base_s, base_rss = measure(args.records, bare, folder)
            ours_s, ours_rss = measure(args.records, kind, folder)
            print(
                f"{kind}: {args.records:,} records: apiinv {ours_s:.1f} s, peak RSS {ours_rss / 1e6:.0f} MB; "
                f"baseline {base_s:.1f} s, peak RSS {base_rss / 1e6:.0f} MB; ratio {ours_s / base_s:.2f}x "
                "(target <= 1.5x; both hold the records in memory)"
            )
            if kind == "xlsx":
                stock_s, stock_rss = measure(args.records, "xlsx-stock", folder)
                same = parts(Path(folder) / "apiinv-xlsx.xlsx") == parts(
                    Path(folder) / "apiinv-xlsx-stock.xlsx"
                )
                print(
                    f"xlsx: the same workbook through xlsxwriter's own worksheet {stock_s:.1f} s, peak RSS "
                    f"{stock_rss / 1e6:.0f} MB: apiinv's rows are {stock_s / ours_s:.2f}x faster; "
                    f"files {'identical, part for part' if same else 'DIFFERENT'}"
                )


if __name__ == "__main__":
    main()
