"""What the workbooks hold: the combined inventory workbook and one workbook per tool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiinv.analysis.dataset import RISK_ORDER, Dataset, by_risk
from apiinv.analysis.findings import FINDINGS, TITLES
from apiinv.analysis.merge import AUDIT_LEVELS
from apiinv.report.xlsx import EXCEL_MAX_ROWS, Column, Workbook, clean_text

INVENTORY_COLUMNS = [
    Column("Endpoint", "endpoint_key", width=60),
    Column("Method", "method", width=9),
    Column("Host", "host"),
    Column("Path", "path"),
    Column("URL", "url"),
    Column("API", "api_name"),
    Column("Tools", "tools", "list"),
    Column("Gateway status", "gateway_status"),
    Column("Environment", "environment"),
    Column("Auth required", "auth_required", "bool"),
    Column("Auth types", "auth_types", "list"),
    Column("Auth from", "auth_source"),
    Column("Sensitive data", "sensitive_data", "list"),
    Column("Risk level", "risk_level", "risk", 11),
    Column("Risk score", "risk_score", "number", 11),
    Column("Traffic", "traffic_status"),
    Column("First seen", "first_seen", "date"),
    Column("Last seen", "last_seen", "date"),
    Column("Audit score", "audit_score", "number", 12),
    *[Column(f"Audit {level}", f"audit_{level}", "number", 10) for level in AUDIT_LEVELS],
    Column("Audit date", "audit_date", "date"),
    Column("Scan", "scan_state"),
    Column("Collection", "collection"),
    Column("Products", "products", "list"),
    Column("Last modified", "last_modified", "date"),
    Column("Tags", "tags", "list"),
    Column("Owner", "owner"),
]
FINDING_COLUMNS = [Column("Reason", "reason", "wrap", 45), *INVENTORY_COLUMNS]
RECORD_COLUMNS = [
    Column("Endpoint", "endpoint_key", width=60),
    Column("Method", "method", width=9),
    Column("Host", "host"),
    Column("Base path", "base_path"),
    Column("Path", "path"),
    Column("URL", "url"),
    Column("Match", "path_match", width=8),
    Column("API id", "api_id"),
    Column("API", "api_name"),
    Column("Collection", "collection"),
    Column("Environment", "environment"),
    Column("Status", "status"),
    Column("Auth required", "auth_required", "bool"),
    Column("Auth types", "auth_types", "list"),
    Column("Sensitive data", "sensitive_data", "list"),
    Column("Risk level", "risk_level", "risk", 11),
    Column("Risk score", "risk_score", "number", 11),
    Column("Audit score", "audit_score", "number", 12),
    Column("Audit issues", "audit_issues", "list"),
    Column("Audit date", "audit_date", "date"),
    Column("Scan", "scan_state"),
    Column("Scan issues", "scan_issues", "number"),
    Column("First seen", "first_seen", "date"),
    Column("Last seen", "last_seen", "date"),
    Column("Last modified", "last_modified", "date"),
    Column("Products", "products", "list"),
    Column("Tags", "tags", "list"),
    Column("Owner", "owner"),
    Column("Instance", "instance"),
    Column("Collected", "collected_at", "date"),
]
CHANGE_COLUMNS = [
    Column("Change", "change", "change", 10),
    Column("Tool", "tool", width=10),
    Column("Endpoint", "endpoint_key", width=60),
    Column("API", "api_name"),
    Column("URL", "url"),
    Column("Fields", "fields"),
    Column("Before", "before"),
    Column("After", "after"),
]
RUN_COLUMNS = [
    Column("Tool", "tool", width=12),
    Column("Step", "step", width=9),
    Column("Status", "status", "status", 9),
    Column("Started", "started_at", "date"),
    Column("Seconds", "duration_s", "number", 9),
    Column("Counts", "counts", "list"),
    Column("Requests", "requests", "number", 10),
    Column("From cache", "cache_hits", "number", 10),
    Column("Retries", "retries", "number", 9),
    Column("Errors", "errors", width=60),
]
CONFIDENTIAL = (
    "Confidential: this workbook maps the organisation's API attack surface. Share it only with "
    "the people who defend it."
)


def run_rows(data: Dataset, tools: list[str]) -> list[dict[str, Any]]:
    rows = []
    for tool in tools:
        for step in ("collect", "process", "export"):
            entry = data.step(tool, step)
            if not entry:
                continue
            counts = entry.get("counts") or (
                {"records": entry["records"], "rejected": entry.get("rejected", 0)}
                if "records" in entry
                else {}
            )
            rows.append(
                {
                    "tool": tool,
                    "step": step,
                    "status": entry.get("status"),
                    "started_at": entry.get("started_at"),
                    "duration_s": entry.get("duration_s"),
                    "counts": counts,
                    "requests": entry.get("requests"),
                    "cache_hits": entry.get("cache_hits"),
                    "retries": entry.get("retries"),
                    "errors": "; ".join(
                        f"{e['code']} {e['id']}: {e['message']}" for e in entry.get("errors") or []
                    ),
                }
            )
    return rows


def _properties(data: Dataset, title: str) -> dict[str, str]:
    return {
        "title": title,
        "subject": "API inventory",
        "author": data.generator,
        "company": "",
        "keywords": "API inventory, attack surface, confidential",
        "comments": CONFIDENTIAL,
        "category": "Confidential",
    }


def _summary(book: Workbook, data: Dataset, tools: list[str], title: str, tool: str | None = None) -> None:
    """The first sheet: the run (with a banner when the data is incomplete), each tool's status and data
    date, the estate's (or this tool's) counts, findings with what they stand on, changes, a chart."""
    from apiinv.report.xlsx import RISK_COLOURS, sheet_name

    sheet = book.book.add_worksheet(sheet_name("Summary", book.taken))
    sheet.set_column(0, 0, 28)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 1)  # printed: one page, the charts under the tables
    sheet.set_column(1, 9, 13)
    sheet.set_column(10, 10, 60, book.wrap)
    summary = data.summary(tool)
    sheet.write_string(0, 0, title, book.title)
    clock = data.now.isoformat(timespec="minutes").replace("+00:00", "Z")
    sheet.write_string(
        1,
        0,
        f"Run date {data.day} (ages measured to {clock}); generated {data.generated_at} by {data.generator}.",
        book.note,
    )
    sheet.write_string(2, 0, CONFIDENTIAL, book.note)
    row = 3
    if summary["banner"]:
        row += 1
        sheet.set_row(row, 45)
        sheet.merge_range(row, 0, row, 10, summary["banner"], book.banner)
    row += 2
    headers = [
        "Tool",
        "Status",
        "Data date",
        "Collection",
        "Processing",
        "Records",
        "New",
        "Removed",
        "Changed",
        "Held back",
        "Note",
    ]
    for col, header in enumerate(headers):
        sheet.write_string(row, col, header, book.header)
    for name in tools:
        row += 1
        tool_data = data.data.get(name)
        changes = data.changes_for(name)
        counts = changes.counts() if changes else {}
        errors = [e for s in ("collect", "process") for e in data.step(name, s).get("errors") or []]
        note = "; ".join(
            part
            for part in (
                changes.note if changes else "",
                "; ".join(f"{e['code']} {e['id']}" for e in errors),
            )
            if part
        )
        status = tool_data.status if tool_data else "failed"
        values: list[Any] = [
            name,
            status,
            (tool_data.data_date if tool_data else None) or "no data",
            data.step(name, "collect").get("status", "-"),
            data.step(name, "process").get("status", "-"),
            len(tool_data.records) if tool_data else 0,
            counts.get("new", 0),
            counts.get("removed", 0),
            counts.get("changed", 0),
            counts.get("held_back", 0),
            note,
        ]
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(row, col, value, book.count)
            elif col == 1:
                sheet.write_string(row, col, value, book.status.get(value, book.status["failed"]))
            elif col == len(values) - 1:
                sheet.write_string(row, col, clean_text(str(value)), book.wrap)
            else:
                sheet.write_string(row, col, clean_text(str(value)))
    row += 2
    sheet.write_string(row, 0, "Endpoints (merged)" if tool is None else f"Endpoints {tool} sees", book.bold)
    sheet.write_number(row, 1, summary["endpoints"], book.count)
    for level in RISK_ORDER:
        row += 1
        sheet.write_string(row, 0, f"  risk {level}")
        sheet.write_number(row, 1, summary["risk_levels"][level], book.count)
    row += 2
    sheet.write_string(row, 0, "Findings", book.header)
    sheet.write_string(row, 1, "Count", book.header)
    sheet.write_string(row, 2, "Stands on", book.header)
    for name in FINDINGS:
        row += 1
        sheet.write_string(row, 0, TITLES[name])
        sheet.write_number(row, 1, summary["findings"][name], book.count)
        sheet.write_string(row, 2, summary["finding_notes"].get(name, "complete data"))
    row += 2
    sheet.write_string(row, 0, "Changes (distinct endpoints)", book.header)
    sheet.write_string(row, 1, "Count", book.header)
    for kind in ("new", "removed", "changed", "held_back"):
        row += 1
        sheet.write_string(row, 0, kind.replace("_", " "))
        sheet.write_number(row, 1, summary["changes"][kind], book.count)
    if summary["baseline"]:
        row += 1
        sheet.write_string(
            row,
            0,
            f"Baseline: first complete run of {', '.join(summary['baseline'])}; nothing new.",
            book.note,
        )
    row += 2
    first = row
    sheet.write_string(row, 0, "Endpoints per tool by risk level", book.header)
    for col, level in enumerate(RISK_ORDER, 1):
        sheet.write_string(row, col, level, book.header)
    by_tool = data.risk_by_tool()
    for name in tools:
        row += 1
        sheet.write_string(row, 0, name)
        for col, level in enumerate(RISK_ORDER, 1):
            sheet.write_number(row, col, by_tool[name][level] if name in by_tool else 0, book.count)
    if tools:
        chart = book.book.add_chart({"type": "column", "subtype": "stacked"})
        colours = {**RISK_COLOURS, "unknown": "#A6A6A6"}
        for col, level in enumerate(RISK_ORDER, 1):
            chart.add_series(
                {
                    "name": [sheet.name, first, col],
                    "categories": [sheet.name, first + 1, 0, row, 0],
                    "values": [sheet.name, first + 1, col, row, col],
                    "fill": {"color": colours[level]},
                }
            )
        chart.set_title({"name": "Endpoints per tool by risk level"})
        chart.set_y_axis({"name": "endpoints"})
        sheet.insert_chart(row + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})
        row += 20  # the chart's height in rows
    if tool is None:
        _trend(book, sheet, data, row + 2)


def _trend(book: Workbook, sheet: Any, data: Dataset, row: int) -> None:
    """The last runs' endpoints, findings, new and removed: a table and a line chart under it."""
    points = data.trend()
    columns = ["Date", "Endpoints", *(TITLES[n] for n in FINDINGS), "New", "Removed", "Incomplete"]
    sheet.write_string(row, 0, f"Trend: the last {len(points)} reported runs", book.header)
    row += 1
    first = row
    for col, header in enumerate(columns):
        sheet.write_string(row, col, header, book.header)
    for point in points:
        row += 1
        values = [
            point["endpoints"],
            *(point["findings"].get(n, 0) for n in FINDINGS),
            point["new"],
            point["removed"],
        ]
        sheet.write_string(row, 0, point["date"])
        for col, value in enumerate(values, 1):
            sheet.write_number(row, col, value, book.count)
        sheet.write_string(row, len(values) + 1, "yes" if point["incomplete"] else "")
    chart = book.book.add_chart({"type": "line"})
    for col in range(1, len(columns) - 1):
        chart.add_series(
            {
                "name": [sheet.name, first, col],
                "categories": [sheet.name, first + 1, 0, row, 0],
                "values": [sheet.name, first + 1, col, row, col],
                "marker": {"type": "circle", "size": 4},
            }
        )
    chart.set_title({"name": "Trend over the last runs"})
    chart.set_y_axis({"name": "count"})
    sheet.insert_chart(row + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})


def write_combined(path: Path, data: Dataset, *, max_rows: int = EXCEL_MAX_ROWS) -> dict[str, int]:
    title = f"API inventory {data.day}"
    book = Workbook(path, properties=_properties(data, title), max_rows=max_rows)
    try:
        _summary(book, data, data.tools, title)
        book.table("Inventory", INVENTORY_COLUMNS, data.merged)
        for tool in data.tools:
            book.table(tool, RECORD_COLUMNS, data.records.get(tool, []))
        book.table("Changes", CHANGE_COLUMNS, data.change_rows())
        for name in FINDINGS:
            book.table(TITLES[name], FINDING_COLUMNS, sorted(data.findings[name], key=by_risk))
        book.table("Run", RUN_COLUMNS, run_rows(data, data.tools))
    finally:
        book.close()
    return book.rows_written


def write_tool(path: Path, data: Dataset, tool: str, *, max_rows: int = EXCEL_MAX_ROWS) -> dict[str, int]:
    title = f"{tool} API inventory {data.day}"
    book = Workbook(path, properties=_properties(data, title), max_rows=max_rows)
    try:
        _summary(book, data, [tool], title, tool=tool)
        book.table("Records", RECORD_COLUMNS, data.records.get(tool, []))
        book.table("Changes", CHANGE_COLUMNS, data.change_rows(tool))
        book.table("Run", RUN_COLUMNS, run_rows(data, [tool]))
    finally:
        book.close()
    return book.rows_written
