"""A worksheet that writes xlsxwriter's own cells, byte for byte, in fewer Python steps.

In ``constant_memory`` mode xlsxwriter takes each cell through a decorator and three checks, and turns
each finished row into XML cell by cell: an attribute list, an escape per attribute, three regular
expressions over the text and a write to the row file; about 5 microseconds a cell. A large estate's
workbooks hold tens of millions of cells, so this was most of the export's time.

``InlineRowsWorksheet`` takes the cells that tables are made of (text, numbers, dates and booleans,
each with a format, written row after row) with the same checks and bookkeeping, and writes each row
as one string with the same XML. Anything else (a formula, a link, a cell without a format, text with
control characters, an ``_xHHHH_`` sequence or a leading ``<r>``, a cell of an earlier row) goes
through xlsxwriter's own code. It reads xlsxwriter's private row table, so it is used only with the
release it was compared against (``VERIFIED``): tests compare every part of the files both write, and
``bench/export.py`` measures them side by side.
"""

from __future__ import annotations

from datetime import datetime
from math import isfinite
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import (
    CellBooleanTuple,
    CellDatetimeTuple,
    CellNumberTuple,
    CellStringTuple,
    Worksheet,
)

# The xlsxwriter releases whose cell writing this reproduces (``_check_dimensions``, ``_write_string``,
# ``_write_number``, ``_write_boolean``, ``_write_datetime``, ``_write_single_row``, ``_write_cell``,
# ``_xml_inline_string``); with any other, xlsxwriter's own worksheet is used.
VERIFIED = ("3.3.1",)
_COLUMN_NAMES: tuple[str, ...] = tuple(xl_col_to_name(col) for col in range(256))
_NUMBERS = (CellNumberTuple, CellDatetimeTuple)
# Timestamps repeat (one collection's time, one audit's): each distinct one is converted once, and
# at most this many are kept, so that a column of distinct times costs no memory that grows with it.
MOMENTS_KEPT = 10_000


class InlineRowsWorksheet(Worksheet):
    """xlsxwriter's worksheet, faster for plain cells written in constant-memory mode."""

    # Set by xlsxwriter's own __init__; declared for the type checker.
    previous_row: int
    dim_rowmin: int | None
    dim_rowmax: int | None
    dim_colmin: int | None
    dim_colmax: int | None

    def __init__(self) -> None:
        super().__init__()
        self._serials: dict[datetime, float] = {}  # Excel's number of each naive moment written

    def _claim(self, row: Any, col: Any) -> bool:
        """xlsxwriter's bounds checks, dimensions and row flush for a cell given by numbers, when the
        cell is in the row being written or a later one; False (nothing done) for anything else."""
        if (
            type(row) is not int
            or type(col) is not int
            or not self.previous_row <= row < self.xls_rowmax
            or not 0 <= col < self.xls_colmax
            or not self.constant_memory
        ):
            return False
        if self.dim_rowmin is None or row < self.dim_rowmin:
            self.dim_rowmin = row
        if self.dim_rowmax is None or row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None or col < self.dim_colmin:
            self.dim_colmin = col
        if self.dim_colmax is None or col > self.dim_colmax:
            self.dim_colmax = col
        if row > self.previous_row:
            self._write_single_row(row)
        return True

    # Each takes xlsxwriter's arguments as given: (row, col, value[, format]), or an A1 name first;
    # keyword arguments go to xlsxwriter's own method.
    def write_string(self, row: Any, col: Any, *args: Any, **kwargs: Any) -> Any:
        if 0 < len(args) < 3 and not kwargs:
            string, cell_format = args[0], args[1] if len(args) == 2 else None
            if type(string) is str and len(string) <= self.xls_strmax // 2 and self._claim(row, col):
                self.table[row][col] = CellStringTuple(string, cell_format)
                return 0
        return super().write_string(row, col, *args, **kwargs)

    def write_number(self, row: Any, col: Any, *args: Any, **kwargs: Any) -> Any:
        if 0 < len(args) < 3 and not kwargs:
            number, cell_format = args[0], args[1] if len(args) == 2 else None
            if type(number) in (int, float) and isfinite(number) and self._claim(row, col):
                self.table[row][col] = CellNumberTuple(number, cell_format)
                return 0
        return super().write_number(row, col, *args, **kwargs)

    def write_boolean(self, row: Any, col: Any, *args: Any, **kwargs: Any) -> Any:
        if 0 < len(args) < 3 and not kwargs and self._claim(row, col):
            self.table[row][col] = CellBooleanTuple(1 if args[0] else 0, args[1] if len(args) == 2 else None)
            return 0
        return super().write_boolean(row, col, *args, **kwargs)

    def write_datetime(self, row: Any, col: Any, *args: Any, **kwargs: Any) -> Any:
        # With a format, and naive moments only: aware ones that are equal can show different times.
        if len(args) == 2 and not kwargs:
            date, cell_format = args
            if (
                type(date) is datetime
                and date.tzinfo is None
                and cell_format is not None
                and self._claim(row, col)
            ):
                number = self._serials.get(date)
                if number is None:
                    if len(self._serials) >= MOMENTS_KEPT:
                        self._serials.clear()  # a column of distinct times: no use keeping them all
                    number = self._serials[date] = self._convert_date_time(date)
                self.table[row][col] = CellDatetimeTuple(number, cell_format)
                return 0
        return super().write_datetime(row, col, *args, **kwargs)

    def _write_single_row(self, current_row_num: int = 0) -> None:
        row_num = self.previous_row
        cells = self.table.get(row_num)
        if not cells or max(cells) >= len(_COLUMN_NAMES):
            super()._write_single_row(current_row_num)
            return
        self.previous_row = current_row_num
        row_info = self.row_info.get(row_num)
        if row_info is None:
            self._write_row(row_num, None)
        else:
            self._write_row(row_num, None, row_info)
        number = str(row_num + 1)
        parts: list[str] = []
        for col in sorted(cells):
            cell = cells[col]
            text = _cell_xml(cell, _COLUMN_NAMES[col] + number)
            if text is not None:
                parts.append(text)
                continue
            if parts:
                self.fh.write("".join(parts))
                parts = []
            self._write_cell(row_num, col, cell)
        parts.append("</row>")
        self.fh.write("".join(parts))
        self.table.clear()


def _cell_xml(cell: Any, reference: str) -> str | None:
    """The cell's XML as xlsxwriter writes it, or None when xlsxwriter's own code must write it."""
    cell_format = cell.format
    if not cell_format:
        return None  # the row's or the column's format applies (xlsxwriter tests it for truth)
    kind = type(cell)
    if kind is CellStringTuple:
        string = cell.string
        if not string.isprintable() or "_x" in string or string.startswith("<r>"):
            return None
        if "&" in string or "<" in string or ">" in string:
            string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # Printable text holds no whitespace but the space; xlsxwriter keeps it at either end.
        preserve = ' xml:space="preserve"' if string.startswith(" ") or string.endswith(" ") else ""
        return (
            f'<c r="{reference}" s="{cell_format._get_xf_index()}" t="inlineStr">'
            f"<is><t{preserve}>{string}</t></is></c>"
        )
    if kind in _NUMBERS:
        return f'<c r="{reference}" s="{cell_format._get_xf_index()}"><v>{cell.number:.16G}</v></c>'
    if kind is CellBooleanTuple:
        return f'<c r="{reference}" s="{cell_format._get_xf_index()}" t="b"><v>{cell.boolean}</v></c>'
    return None


def worksheet_class() -> type[Any]:
    """The worksheet class the tables use: the faster one with the release it was verified against."""
    return InlineRowsWorksheet if xlsxwriter.__version__ in VERIFIED else Worksheet
