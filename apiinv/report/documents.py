"""JSON documents and CSV files of the reports.

JSON: one document with a schema version, the run metadata and the records, streamed in slices so
that a million records cost about what one orjson call over them does. CSV: one file per sheet;
cells that a spreadsheet would run as a formula (= + - @ and tab/CR at the start) are prefixed with
a quote, since people open these files in Excel too; and control characters are escaped visibly
(``\\x1b``), never dropped, since people also ``cat`` them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from apiinv.analysis.dataset import Dataset
from apiinv.analysis.findings import FINDINGS
from apiinv.inventory.records import Row, plain
from apiinv.redact import printable
from apiinv.report.xlsx import Column, to_text
from apiinv.store import write_atomic

REPORT_VERSION = 2
SLICE = 10_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _json_chunks(header: dict[str, Any], records: list[Row]) -> Iterator[bytes | memoryview]:
    head = orjson.dumps(header, option=orjson.OPT_NON_STR_KEYS)
    yield head[:-1] + b',"records":['
    for start in range(0, len(records), SLICE):
        if start:
            yield b","
        # Rows are read-only mappings (inventory.records.FrozenRow): ``plain`` gives orjson their dict.
        yield memoryview(orjson.dumps(records[start : start + SLICE], default=plain))[1:-1]
    yield b"]}"


def _findings_index(data: Dataset) -> dict[str, list[dict[str, str]]]:
    return {
        name: [{"endpoint_key": r["endpoint_key"], "reason": r["reason"]} for r in data.findings[name]]
        for name in FINDINGS
    }


def act_first_section(digest: dict[str, Any]) -> dict[str, Any]:
    """The ranked endpoints and each finding's split by risk level, as the Summary sheet shows them."""
    return {
        "endpoints": digest["act_first"],
        "by_risk": {name: entry["split"] for name, entry in digest["findings"].items()},
    }


def write_combined_json(path: Path, data: Dataset) -> Path:
    header = {
        "schema_version": REPORT_VERSION,
        "kind": "api-inventory",
        "date": data.day,
        "generated_at": data.generated_at,
        "generator": data.generator,
        "tools": data.tools,
        "run": {**data.run_section(), "steps": data.manifest.get("tools", {})},
        "summary": data.summary(),
        "trend": data.trend(),
        "act_first": act_first_section(data.digest()),
        "findings": _findings_index(data),
        "changes": data.change_rows(),
    }
    return write_atomic(path, _json_chunks(header, data.merged))


def write_tool_json(path: Path, data: Dataset, tool: str) -> Path:
    header = {
        "schema_version": REPORT_VERSION,
        "kind": "tool-inventory",
        "date": data.day,
        "tool": tool,
        "generated_at": data.generated_at,
        "generator": data.generator,
        "run": {
            "incomplete": not data.data[tool].fresh(data.day),
            **data.run_section()["tools"][tool],
            "steps": data.manifest.get("tools", {}).get(tool, {}),
        },
        "summary": data.summary(tool),
        "changes": data.change_rows(tool),
    }
    return write_atomic(path, _json_chunks(header, data.records.get(tool, [])))


def _safe(value: Any) -> str:
    text = printable(to_text(value), lines=True) if value is not None else ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(path: Path, columns: list[Column], rows: Iterable[Row]) -> Path:
    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([c.header for c in columns])
        for count, row in enumerate(rows, 1):
            writer.writerow([_safe(row.get(c.field)) for c in columns])
            if count % 5000 == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode("utf-8")

    return write_atomic(path, chunks())
