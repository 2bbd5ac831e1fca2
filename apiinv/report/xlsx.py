"""Excel workbooks with xlsxwriter in constant-memory mode.

Every sheet gets a bold frozen header, an autofilter, column widths from its content (capped), dates
as Excel dates, numbers as numbers and colour-coded risk levels. Vendor strings are written as strings
only (never formulas, numbers or URLs), stripped of control characters and cut at Excel's 32,767
characters with a visible marker. A sheet that would pass Excel's 1,048,576 rows continues on a
numbered sheet: xlsxwriter itself only returns -1 past the limit, so rows are counted here.
"""

from __future__ import annotations

import contextlib
import re
import traceback
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.exceptions

from apiinv.redact import printable
from apiinv.report.xlsx_rows import MOMENTS_KEPT, worksheet_class

EXCEL_MAX_ROWS = 1_048_576  # header included
EXCEL_MAX_TEXT = 32_767
TRUNCATED = " …[truncated by apiinv]"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
WIDTH_SAMPLE = 500
MIN_WIDTH, MAX_WIDTH = 8, 60
RISK_COLOURS = {
    "critical": "#C00000",
    "high": "#FF6A00",
    "medium": "#FFC000",
    "low": "#70AD47",
    "info": "#5B9BD5",
}
STATUS_COLOURS = {
    "ok": "#C6EFCE",
    "partial": "#FFEB9C",
    "truncated": "#FFEB9C",
    "not_run": "#FFEB9C",
    "failed": "#FFC7CE",
}
CHANGE_COLOURS = {"new": "#C6EFCE", "removed": "#FFC7CE", "changed": "#FFEB9C"}


def clean_text(value: str) -> str:
    """A vendor's text as a cell shows it: controls XML cannot hold, and those that would act on a
    reader (C1, bidi overrides), escaped visibly (``\\x07``) rather than dropped; cut at Excel's limit."""
    if not value.isprintable():
        value = printable(value, lines=True)
    if len(value) > EXCEL_MAX_TEXT:
        value = value[: EXCEL_MAX_TEXT - len(TRUNCATED)] + TRUNCATED
    return value


LINE_HEIGHT = 15  # points: one line of the default 11-point type


def text_lines(text: str, width: int) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide (a little less for its
    margins), breaking at spaces as a spreadsheet does, counting its own line breaks."""
    usable = max(1, width - 3)
    total = 0
    for line in text.split("\n"):
        lines, used = 1, 0
        for word in line.split(" "):
            if used and used + 1 + len(word) <= usable:
                used += 1 + len(word)
                continue
            if used:  # the word starts a new line; a word longer than a line breaks across lines
                lines += 1
            lines += max(0, len(word) - 1) // usable
            used = len(word) - (max(0, len(word) - 1) // usable) * usable
        total += lines
    return total


def to_text(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def parse_timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=None)  # all apiinv timestamps are UTC


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str = "text"  # text | wrap | number | date | bool | list | risk | change
    width: int | None = None


def sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name: at most 31 characters, none of []:*?/\\, not 'History'."""
    name = _SHEET_FORBIDDEN.sub("_", title).strip("'").strip() or "Sheet"
    if name.lower() == "history":
        name = "History_"
    name = name[:31]
    candidate, number = name, 2
    while candidate.lower() in taken:
        suffix = f" ({number})"
        candidate, number = name[: 31 - len(suffix)] + suffix, number + 1
    taken.add(candidate.lower())
    return candidate


ROWS_WORKSHEET = worksheet_class()


class Workbook:
    def __init__(
        self, path: Path, *, properties: dict[str, str] | None = None, max_rows: int = EXCEL_MAX_ROWS
    ) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "remove_timezone": True,
            },
        )
        if properties:
            self.book.set_properties(properties)
        self.max_rows = max_rows
        self.taken: set[str] = set()
        self.rows_written: dict[str, int] = {}
        self.moments: dict[str, datetime] = {}
        book = self.book
        header = {
            "bold": True,
            "bg_color": "#1F3864",
            "font_color": "#FFFFFF",
            "text_wrap": True,
            "valign": "top",
            "border": 1,
        }
        self.header = book.add_format(header)
        self.header_number = book.add_format({**header, "align": "right"})  # over right-aligned numbers
        # Every cell at the top of its row: beside wrapped text, a value at the bottom reads as the next row.
        self.top = book.add_format({"valign": "top"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"})
        self.title = book.add_format({"bold": True, "font_size": 16, "font_color": "#1F3864"})
        self.bold = book.add_format({"bold": True})
        self.count = book.add_format({"num_format": "#,##0", "valign": "top"})
        self.decimal = book.add_format({"num_format": "#,##0.0#", "valign": "top"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.note = book.add_format({"italic": True, "font_color": "#595959"})
        self.section = book.add_format({"bold": True, "font_size": 13, "font_color": "#C00000"})
        self.link = book.add_format({"font_color": "#0563C1", "underline": 1, "valign": "top"})
        # Text beside a right-aligned number: indented, so that "53" and "complete data" do not touch.
        self.padded = book.add_format({"indent": 1})
        self.padded_wrap = book.add_format({"indent": 1, "text_wrap": True, "valign": "top"})
        self.banner = book.add_format(
            {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE", "text_wrap": True, "valign": "top"}
        )
        self.status = {name: book.add_format({"bg_color": colour}) for name, colour in STATUS_COLOURS.items()}
        self.risk = {
            level: book.add_format(
                {
                    "bg_color": colour,
                    "font_color": "#FFFFFF" if level in ("critical", "high") else "#000000",
                    "valign": "top",
                }
            )
            for level, colour in RISK_COLOURS.items()
        }
        self.change = {kind: book.add_format({"bg_color": colour}) for kind, colour in CHANGE_COLOURS.items()}

    def close(self) -> None:
        try:
            self.book.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            # xlsxwriter wraps the OSError of a full disk; unwrapped, the store that gave this path
            # names the file and keeps the earlier one, as for every other file.
            cause = exc.__context__ if isinstance(exc.__context__, OSError) else OSError(str(exc))
            _let_go_of_zip_files(cause)
            raise cause from None

    # ------------------------------------------------------------------------------------- tables

    def _cell_writer(self, column: Column) -> Callable[[Any, int, int, Any], None]:
        kind, top = column.kind, self.top
        if kind == "number":
            whole, fraction = self.count, self.decimal

            def write(sheet: Any, row: int, col: int, value: Any) -> None:
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(row, col, value, fraction if value % 1 else whole)
                else:
                    sheet.write_string(row, col, clean_text(to_text(value)), top)
        elif kind == "date":
            date_format, moments = self.date, self.moments

            def write(sheet: Any, row: int, col: int, value: Any) -> None:
                # Timestamps repeat across records (one collection's time, one audit's): parsed once.
                moment = moments.get(value) if isinstance(value, str) else None
                if moment is None:
                    moment = parse_timestamp(value)
                    if isinstance(value, str) and moment is not None:
                        if len(moments) >= MOMENTS_KEPT:
                            moments.clear()  # a column of distinct times: no use keeping them all
                        moments[value] = moment
                if moment is not None:
                    sheet.write_datetime(row, col, moment, date_format)
                else:
                    sheet.write_string(row, col, clean_text(to_text(value)), top)
        elif kind == "bool":

            def write(sheet: Any, row: int, col: int, value: Any) -> None:
                if isinstance(value, bool):
                    sheet.write_boolean(row, col, value, top)
                else:
                    sheet.write_string(row, col, clean_text(to_text(value)), top)
        else:
            text_format = self.wrap if kind == "wrap" else top

            def write(sheet: Any, row: int, col: int, value: Any) -> None:
                text = clean_text(value if isinstance(value, str) else to_text(value))
                sheet.write_string(row, col, text, text_format)

        return write

    def _widths(self, columns: list[Column], sample: list[Mapping[str, Any]]) -> list[int]:
        widths = []
        for column in columns:
            if column.width:
                widths.append(column.width)
                continue
            longest = len(column.header)
            for row in sample:
                value = row.get(column.field)
                if value is not None:
                    longest = max(longest, 16 if column.kind == "date" else len(to_text(value)))
            widths.append(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2)))
        return widths

    def table(
        self,
        title: str,
        columns: list[Column],
        rows: Iterable[Mapping[str, Any]],
        *,
        printed: int | None = None,
    ) -> list[str]:
        """Write ``rows`` under a header; returns the sheet names used (more than one past the row limit).
        ``printed``: print only the first columns, on A4, so that the type stays readable (else every
        column, on A3)."""
        iterator = iter(rows)
        sample = list(islice(iterator, WIDTH_SAMPLE))
        widths = self._widths(columns, sample)
        writers = [(index, column.field, self._cell_writer(column)) for index, column in enumerate(columns)]
        wrapped = [(c.field, w) for c, w in zip(columns, widths, strict=True) if c.kind == "wrap"]
        names: list[str] = []
        sheet, row_number = None, 0
        for row in chain(sample, iterator):
            if sheet is None or row_number >= self.max_rows:
                if sheet is not None:
                    self._finish(sheet, columns, row_number, printed)
                sheet = self._new_table_sheet(title, len(names) + 1, columns, widths, printed)
                names.append(sheet.name)
                row_number = 1
            if wrapped:
                # Tall enough for its wrapped text: a row's height is not measured when the file is read.
                lines = max(text_lines(to_text(row.get(name) or ""), width) for name, width in wrapped)
                if lines > 1:
                    sheet.set_row(row_number, LINE_HEIGHT * lines)
            for index, field_name, write in writers:
                value = row.get(field_name)
                if value is not None and value != [] and value != "":
                    write(sheet, row_number, index, value)
            row_number += 1
        if sheet is None:
            sheet = self._new_table_sheet(title, 1, columns, widths, printed)
            names.append(sheet.name)
            row_number = 1
        self._finish(sheet, columns, row_number, printed)
        return names

    def _new_table_sheet(
        self, title: str, part: int, columns: list[Column], widths: list[int], printed: int | None
    ) -> Any:
        sheet = self.book.add_worksheet(
            sheet_name(title if part == 1 else f"{title} ({part})", self.taken),
            worksheet_class=ROWS_WORKSHEET,
        )
        for index, (width, column) in enumerate(zip(widths, columns, strict=True)):
            sheet.set_column(index, index, width, self.wrap if column.kind == "wrap" else None)
        sheet.set_row(0, None, self.header)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.header, self.header)
        sheet.freeze_panes(1, 0)
        sheet.set_landscape()
        if printed:
            sheet.set_paper(9)  # A4: the columns a reader needs first, at a readable size
        else:
            sheet.set_paper(8)  # A3: wide tables stay readable at one page wide
        sheet.fit_to_pages(1, 0)  # one page wide, as long as the rows need
        sheet.repeat_rows(0)  # the header on every printed page
        return sheet

    def _finish(self, sheet: Any, columns: list[Column], rows: int, printed: int | None) -> None:
        self.rows_written[sheet.name] = rows - 1
        if printed:
            sheet.print_area(0, 0, max(rows - 1, 1), printed - 1)
        sheet.autofilter(0, 0, max(rows - 1, 1), len(columns) - 1)
        last = max(rows - 1, 1)
        for index, column in enumerate(columns):
            palette = {"risk": self.risk, "change": self.change, "status": self.status}.get(column.kind)
            for value, cell_format in (palette or {}).items():
                sheet.conditional_format(
                    1,
                    index,
                    last,
                    index,
                    {"type": "cell", "criteria": "==", "value": f'"{value}"', "format": cell_format},
                )


def _let_go_of_zip_files(failure: BaseException) -> None:
    """xlsxwriter leaves its ZipFile open when writing it fails: closed later by the garbage collector,
    it fails again, as "Exception ignored" lines on stderr. Found in the failed call's frames, it is
    closed here, quietly."""
    for frame, _ in traceback.walk_tb(failure.__traceback__):
        for value in frame.f_locals.values():
            if isinstance(value, zipfile.ZipFile) and value.fp is not None:
                handle, value.fp = value.fp, None
                with contextlib.suppress(OSError):
                    handle.close()
