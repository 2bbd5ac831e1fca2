"""What the workbooks hold: the combined inventory workbook and one workbook per tool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apiinv.analysis import priority
from apiinv.analysis.dataset import RISK_ORDER, Dataset, by_risk
from apiinv.analysis.findings import DEFINITIONS, FINDINGS, TITLES
from apiinv.analysis.merge import AUDIT_LEVELS
from apiinv.analysis.priority import SPLIT
from apiinv.report.xlsx import EXCEL_MAX_ROWS, LINE_HEIGHT, Column, Workbook, clean_text, text_lines

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
# A finding sheet: what a reader needs first (and what is printed, on A4), then the rest of the inventory.
FINDING_FIRST = [
    Column("Risk level", "risk_level", "risk", 11),
    Column("Endpoint", "endpoint_key", "wrap", 40),
    Column("Reason", "reason", "wrap", 34),
    Column("Tools", "tools", "wrap", 16),
    Column("Owner", "owner", "wrap", 14),
    Column("First seen", "first_seen", "date", 16),
    Column("Last seen", "last_seen", "date", 16),
    Column("Risk score", "risk_score", "number", 9),
    Column("Sensitive data", "sensitive_data", "wrap", 16),
]
FINDING_COLUMNS = [
    *FINDING_FIRST,
    *(c for c in INVENTORY_COLUMNS if c.field not in {f.field for f in FINDING_FIRST}),
]
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


SUMMARY_WIDTHS = {0: 44, 1: 12, 2: 12, 3: 14, 4: 14, 5: 12, 6: 12, 7: 12, 8: 12, 9: 12, 10: 60}
READ_ME = "Read me"
RISK_MEANING = {
    "critical": "Traffic analysis scores it critical: exploit it and the damage is severe.",
    "high": "Traffic analysis scores it high.",
    "medium": "Traffic analysis scores it medium.",
    "low": "Traffic analysis scores it low.",
    "info": "Traffic analysis scores it informational.",
    "unknown": "No traffic tool has seen it: its risk is not known (weighs as low).",
}


def _link(book: Workbook, sheet: Any, row: int, col: int, target: str, text: str) -> None:
    """A click from the Summary to another sheet of the same workbook."""
    sheet.write_url(row, col, f"internal:'{target}'!A1", book.link, string=text)


def _act_first(book: Workbook, sheet: Any, digest: dict[str, Any], row: int) -> int:
    """The top of the Summary: the endpoints to act on first, one plain reason each, a link to the sheet
    that lists them. Returns the next free row."""
    sheet.write_string(row, 0, "Act first: the riskiest endpoints across all findings", book.section)
    sheet.write_string(
        row + 1,
        0,
        "Ranked by score = finding severity x risk level weight x exposure (no authentication, sensitive "
        "data, internet-facing, in no gateway); see Read me.",
        book.note,
    )
    row += 2
    headers = ["Endpoint", "Score", "Risk", "Finding", "Owner", "Why"]
    for col, header in enumerate(headers[:-1]):
        sheet.write_string(row, col, header, book.header_number if col == 1 else book.header)
    sheet.merge_range(row, 5, row, 10, headers[-1], book.header)
    why_width = sum(SUMMARY_WIDTHS[c] for c in range(5, 11))
    if not digest["act_first"]:
        row += 1
        sheet.write_string(row, 0, "No findings: nothing to act on.", book.note)
    for item in digest["act_first"]:
        row += 1
        endpoint, reason = clean_text(item["endpoint_key"]), clean_text(item["reason"])
        exposed = f" ({', '.join(item['exposure'])})" if item["exposure"] else ""
        why = reason + exposed
        lines = max(text_lines(endpoint, SUMMARY_WIDTHS[0]), text_lines(why, why_width))
        sheet.set_row(row, LINE_HEIGHT * lines)
        sheet.write_string(row, 0, endpoint, book.wrap)
        sheet.write_number(row, 1, item["score"], book.decimal)
        sheet.write_string(row, 2, item["risk_level"], book.risk.get(item["risk_level"], book.wrap))
        _link(book, sheet, row, 3, item["sheet"], item["sheet"])
        sheet.write_string(row, 4, clean_text(item["owner"] or ""), book.wrap)
        sheet.merge_range(row, 5, row, 10, why, book.wrap)
    return row + 2


def _findings_table(
    book: Workbook, sheet: Any, data: Dataset, digest: dict[str, Any], row: int, tool: str | None
) -> int:
    """Each finding with its count split by risk level and a link to its sheet (the combined workbook's),
    what it stands on, and the endpoints nobody acts on one by one grouped by API."""
    summary = data.summary(tool)
    sheet.write_string(row, 0, "Findings (click one to open its sheet)", book.header)
    for col, header in enumerate(("Count", "Critical", "High", "Medium", "Low", "Other"), 1):
        sheet.write_string(row, col, header, book.header_number)
    sheet.merge_range(row, 7, row, 10, "Stands on", book.header)
    for name in FINDINGS:
        row += 1
        entry = digest["findings"][name]
        if tool is None:
            _link(book, sheet, row, 0, TITLES[name], TITLES[name])
        else:
            sheet.write_string(row, 0, TITLES[name])
        sheet.write_number(row, 1, summary["findings"][name], book.count)
        for col, level in enumerate(SPLIT, 2):
            sheet.write_number(row, col, entry["split"][level], book.count)
        sheet.write_string(row, 7, summary["finding_notes"].get(name, "complete data"), book.padded)
    grouped = [(name, digest["findings"][name]) for name in FINDINGS if digest["findings"][name]["groups"]]
    if grouped:
        row += 2
        sheet.write_string(
            row, 0, "Grouped: low or unknown risk, one decision per API (largest APIs first)", book.bold
        )
    for name, entry in grouped:
        row += 1
        text = clean_text(priority.describe_groups(entry))
        sheet.set_row(row, LINE_HEIGHT * text_lines(text, sum(SUMMARY_WIDTHS[c] for c in range(1, 11))))
        sheet.write_string(row, 0, TITLES[name], book.top)
        sheet.merge_range(row, 1, row, 10, text, book.wrap)
    row += 1
    if tool is None:
        sheet.write_string(row, 0, "What each finding means, and the score:")
        _link(book, sheet, row, 1, READ_ME, READ_ME)
    return row + 2


def _summary(book: Workbook, data: Dataset, tools: list[str], title: str, tool: str | None = None) -> None:
    """The first sheet: the run (with a banner when the data is incomplete), each tool's status and data
    date, the estate's (or this tool's) counts, findings with what they stand on, changes, a chart."""
    sheet = _summary_sheet(book)
    summary = data.summary(tool)
    digest = data.digest(tool)
    row = _run_heading(book, sheet, data, summary, title)
    row = _act_first(book, sheet, digest, row + 2)
    row = _tool_status(book, sheet, data, tools, row)
    row = _endpoint_counts(book, sheet, summary, row + 2, tool)
    row = _findings_table(book, sheet, data, digest, row + 2, tool)
    row = _change_counts(book, sheet, summary, row)
    row = _risk_by_tool(book, sheet, data, tools, row + 2)
    if tool is None:
        _trend(book, sheet, data, row + 2)


def _summary_sheet(book: Workbook) -> Any:
    """The Summary sheet, laid out for screen and print."""
    from apiinv.report.xlsx import sheet_name

    sheet = book.book.add_worksheet(sheet_name("Summary", book.taken))
    for col, width in SUMMARY_WIDTHS.items():
        sheet.set_column(col, col, width)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)  # printed: one page wide, the tables and charts in the order they read
    return sheet


def _run_heading(book: Workbook, sheet: Any, data: Dataset, summary: dict[str, Any], title: str) -> int:
    """The title, when the run was and who wrote it, the confidentiality note and the banner of a run
    whose data is incomplete; the row it ends on."""
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
    return row


STATUS_HEADERS = (
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
)


def _tool_status(book: Workbook, sheet: Any, data: Dataset, tools: list[str], row: int) -> int:
    """A row per tool: its status, data date, steps, records, changes and what went wrong."""
    for col, header in enumerate(STATUS_HEADERS):
        sheet.write_string(row, col, header, book.header_number if 5 <= col <= 9 else book.header)
    for name in tools:
        row += 1
        values = _tool_status_values(data, name)
        for col, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(row, col, value, book.count)
            elif col == 1:
                sheet.write_string(row, col, value, book.status.get(value, book.status["failed"]))
            elif col == len(values) - 1:
                sheet.write_string(row, col, clean_text(str(value)), book.padded_wrap)
            else:
                sheet.write_string(row, col, clean_text(str(value)))
    return row


def _tool_status_values(data: Dataset, name: str) -> list[Any]:
    """One tool's cells under STATUS_HEADERS."""
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
    return [
        name,
        tool_data.status if tool_data else "failed",
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


def _endpoint_counts(book: Workbook, sheet: Any, summary: dict[str, Any], row: int, tool: str | None) -> int:
    """The endpoints (merged, or the ones this tool sees), then their count at each risk level."""
    sheet.write_string(row, 0, "Endpoints (merged)" if tool is None else f"Endpoints {tool} sees", book.bold)
    sheet.write_number(row, 1, summary["endpoints"], book.count)
    for level in RISK_ORDER:
        row += 1
        sheet.write_string(row, 0, f"  risk {level}")
        sheet.write_number(row, 1, summary["risk_levels"][level], book.count)
    return row


def _change_counts(book: Workbook, sheet: Any, summary: dict[str, Any], row: int) -> int:
    """New, removed, changed and held back endpoints, and which tools ran their baseline."""
    sheet.write_string(row, 0, "Changes (distinct endpoints)", book.header)
    sheet.write_string(row, 1, "Count", book.header_number)
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
    return row


def _risk_by_tool(book: Workbook, sheet: Any, data: Dataset, tools: list[str], row: int) -> int:
    """The endpoints each tool sees by merged risk level: a note, a table and a stacked column chart."""
    sheet.write_string(
        row,
        0,
        "Endpoints each tool sees, by the merged risk level. A tool's Records above count its own rows "
        "(one per operation and environment, one per route); these count the distinct endpoints those "
        "rows stand for, so the two rarely match.",
        book.note,
    )
    row += 1
    first = row
    sheet.write_string(row, 0, "Endpoints per tool by risk level", book.header)
    for col, level in enumerate(RISK_ORDER, 1):
        sheet.write_string(row, col, level, book.header_number)
    total_col = len(RISK_ORDER) + 1
    sheet.write_string(row, total_col, "Endpoints", book.header_number)
    by_tool = data.risk_by_tool()
    for name in tools:
        row += 1
        sheet.write_string(row, 0, name)
        for col, level in enumerate(RISK_ORDER, 1):
            sheet.write_number(row, col, by_tool[name][level] if name in by_tool else 0, book.count)
        sheet.write_number(row, total_col, sum(by_tool[name].values()) if name in by_tool else 0, book.count)
    if tools:
        _risk_chart(book, sheet, first, row)
        row += 20  # the chart's height in rows
    return row


def _risk_chart(book: Workbook, sheet: Any, first: int, last: int) -> None:
    """A stacked column per tool of the table from row ``first`` (its header) to ``last``, under it."""
    from apiinv.report.xlsx import RISK_COLOURS

    chart = book.book.add_chart({"type": "column", "subtype": "stacked"})
    colours = {**RISK_COLOURS, "unknown": "#A6A6A6"}
    for col, level in enumerate(RISK_ORDER, 1):
        chart.add_series(
            {
                "name": [sheet.name, first, col],
                "categories": [sheet.name, first + 1, 0, last, 0],
                "values": [sheet.name, first + 1, col, last, col],
                "fill": {"color": colours[level]},
            }
        )
    chart.set_title({"name": "Endpoints per tool by risk level"})
    chart.set_y_axis({"name": "endpoints"})
    sheet.insert_chart(last + 2, 0, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _trend(book: Workbook, sheet: Any, data: Dataset, row: int) -> None:
    """The last runs' endpoints, findings, new and removed: a table and a line chart under it."""
    points = data.trend()
    columns = ["Date", "Endpoints", *(TITLES[n] for n in FINDINGS), "New", "Removed", "Incomplete"]
    sheet.write_string(row, 0, f"Trend: the last {len(points)} reported runs", book.header)
    row += 1
    first = row
    sheet.set_row(row, LINE_HEIGHT * 2)  # "Unauthenticated sensitive" on two lines, never cut
    for col, header in enumerate(columns):
        numeric = 0 < col < len(columns) - 1
        sheet.write_string(row, col, header, book.header_number if numeric else book.header)
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


READ_ME_COLUMNS = [
    Column("Term", "term", "wrap", 26),
    Column("What it means", "meaning", "wrap", 60),
    Column("What to do", "action", "wrap", 50),
    Column("Weight in the score", "weight", "number", 12),
]


def read_me_rows() -> list[dict[str, Any]]:
    """The findings' definitions and the Act first score, a click away from the Summary."""
    rows: list[dict[str, Any]] = [
        {
            "term": f"{TITLES[name]} (finding)",
            "meaning": f"{priority.MEANING[name]}. {DEFINITIONS[name]}",
            "action": priority.ACTION[name],
            "weight": priority.SEVERITY[name],
        }
        for name in FINDINGS
    ]
    rows += [
        {"term": f"Risk {level}", "meaning": RISK_MEANING[level], "weight": weight}
        for level, weight in priority.RISK_WEIGHT.items()
    ]
    rows += [
        {
            "term": "Exposure",
            "meaning": "1, plus 0.5 for each of: no authentication; sensitive data in traffic; an "
            "internet-facing host (not a private address, localhost or .internal/.local/.corp name); "
            "in no gateway.",
            "weight": 1,
        },
        {
            "term": "Act first score",
            "meaning": "Severity of the finding x weight of the endpoint's risk level x exposure (at most "
            f"{max(priority.SEVERITY.values()) * max(priority.RISK_WEIGHT.values()) * 3:g}). An endpoint "
            "in several findings is ranked by the highest.",
            "action": "Start at the top of the Summary's Act first list.",
        },
        {
            "term": "Grouped",
            "meaning": "A finding's endpoints of low, info or unknown risk are counted per API on the "
            "Summary rather than listed: one decision per API.",
        },
    ]
    return rows


def write_combined(path: Path, data: Dataset, *, max_rows: int = EXCEL_MAX_ROWS) -> dict[str, int]:
    title = f"API inventory {data.day}"
    book = Workbook(path, properties=_properties(data, title), max_rows=max_rows)
    try:
        _summary(book, data, data.tools, title)
        book.table(READ_ME, READ_ME_COLUMNS, read_me_rows())
        book.table("Inventory", INVENTORY_COLUMNS, data.merged)
        for tool in data.tools:
            book.table(tool, RECORD_COLUMNS, data.records.get(tool, []))
        book.table("Changes", CHANGE_COLUMNS, data.change_rows())
        for name in FINDINGS:
            book.table(
                TITLES[name],
                FINDING_COLUMNS,
                sorted(data.findings[name], key=by_risk),
                printed=len(FINDING_FIRST),
            )
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
