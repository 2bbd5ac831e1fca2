"""Reading Excel workbooks people send us (.xlsx, .xlsm, .ods through calamine; .xls through xlrd):
every sheet, the header row found, cells trimmed, empty rows dropped, types kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from apiinv.errors import DataValidationError, UsageError
from apiinv.inventory.records import CONTROL_CHARACTERS

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HEADER_SCAN_ROWS = 20


@dataclass
class Sheet:
    name: str
    headers: list[str]
    rows: list[dict[str, Any]]
    header_row: int  # 1-based, as Excel numbers rows


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = CONTROL_CHARACTERS.sub("", value).strip()
        return value or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _header_index(grid: list[list[Any]]) -> int:
    """The row that looks most like a header: most non-empty text cells, above any data."""
    best, best_score = 0, -1
    for index, row in enumerate(grid[:HEADER_SCAN_ROWS]):
        texts = sum(1 for v in row if isinstance(v, str) and v)
        others = sum(1 for v in row if v is not None and not isinstance(v, str))
        score = texts - 2 * others
        if score > best_score:
            best, best_score = index, score
    return best


def _headers(row: list[Any]) -> list[str]:
    names: list[str] = []
    for position, value in enumerate(row, 1):
        name = re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""
        name = name or f"column_{position}"
        candidate, suffix = name, 2
        while candidate in names:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        names.append(candidate)
    return names


def _sheet(name: str, grid: list[list[Any]]) -> Sheet:
    numbered = [(number, [_clean(v) for v in row]) for number, row in enumerate(grid, 1)]
    numbered = [(number, row) for number, row in numbered if any(v is not None for v in row)]
    if not numbered:
        return Sheet(name, [], [], 0)
    width = max(len(row) for _, row in numbered)
    # Trailing columns with neither header nor data are layout, not data.
    while width and all(len(row) < width or row[width - 1] is None for _, row in numbered):
        width -= 1
    rows = [(number, (row + [None] * width)[:width]) for number, row in numbered]
    at = _header_index([row for _, row in rows])
    headers = _headers(rows[at][1])
    records = [dict(zip(headers, row, strict=True)) for _, row in rows[at + 1 :]]
    return Sheet(name, headers, records, rows[at][0])


def _check_file(path: Path) -> bytes:
    if not path.exists():
        raise UsageError(f"{path}: file not found")
    if not path.is_file():
        raise UsageError(f"{path}: not a file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise DataValidationError(f"{path}: empty file, not a workbook")
    return head


def read_workbook(path: Path, *, sheet: str | None = None) -> list[Sheet]:
    head = _check_file(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xlsb") and head.startswith(OLE2_MAGIC):
        raise DataValidationError(
            f"{path}: the workbook is encrypted (password-protected); save a copy without a password"
        )
    if suffix == ".xls" or (head.startswith(OLE2_MAGIC) and suffix not in (".xlsx", ".xlsm", ".xlsb")):
        sheets = _read_xls(path)
    elif suffix in (".xlsx", ".xlsm", ".xlsb", ".ods"):
        sheets = _read_calamine(path, head)
    else:
        raise UsageError(f"{path}: not an Excel file (.xlsx, .xlsm, .xlsb, .xls or .ods)")
    if sheet is not None:
        chosen = [s for s in sheets if s.name == sheet]
        if not chosen:
            raise UsageError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(s.name for s in sheets)})")
        return chosen
    return sheets


def _read_calamine(path: Path, head: bytes) -> list[Sheet]:
    from python_calamine import CalamineWorkbook

    if path.suffix.lower() != ".ods" and not head.startswith(ZIP_MAGIC):
        raise DataValidationError(f"{path}: corrupt workbook (not a zip container)")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return [
            _sheet(name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in workbook.sheet_names
        ]
    except Exception as exc:  # calamine raises its own error types for every kind of damage
        raise DataValidationError(f"{path}: corrupt workbook: {str(exc)[:160]}") from None


def _read_xls(path: Path) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise DataValidationError(f"{path}: the workbook is encrypted (password-protected)") from None
        raise DataValidationError(f"{path}: corrupt .xls workbook: {exc}") from None
    except Exception as exc:  # xlrd reports damage as struct and assertion errors too
        raise DataValidationError(f"{path}: corrupt .xls workbook: {type(exc).__name__}") from None
    sheets = []
    for name in book.sheet_names():
        sheet = book.sheet_by_name(name)
        grid = []
        for r in range(sheet.nrows):
            row = []
            for c in range(sheet.ncols):
                cell = sheet.cell(r, c)
                if cell.ctype == xlrd.XL_CELL_DATE:
                    moment = xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                    row.append(moment.date() if moment.time() == time(0) else moment)
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                    row.append(None)
                else:
                    row.append(cell.value)
            grid.append(row)
        sheets.append(_sheet(name, grid))
        book.unload_sheet(name)
    return sheets


def json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def export(sheets: list[Sheet], kind: str, out: Path | None, *, source: Path) -> list[str]:
    """Write sheets as JSON or CSV to ``out`` (or return the text for stdout); lines to show."""
    import csv
    import io

    import orjson

    from apiinv.store import write_atomic

    if kind == "json":
        document = {
            "file": source.name,
            "sheets": [
                {
                    "name": s.name,
                    "header_row": s.header_row,
                    "headers": s.headers,
                    "rows": [{k: json_value(v) for k, v in row.items()} for row in s.rows],
                }
                for s in sheets
            ],
        }
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        if out is None:
            return [data.decode()]
        write_atomic(out, data)
        return [f"wrote {out}"]

    def as_csv(sheet: Sheet) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(sheet.headers)
        for row in sheet.rows:
            writer.writerow(["" if v is None else json_value(v) for v in row.values()])
        return buffer.getvalue().encode("utf-8")

    if out is None:
        if len(sheets) > 1:
            raise UsageError("several sheets as CSV need --out (one file per sheet) or --sheet")
        return [as_csv(sheets[0]).decode().rstrip("\n")]
    lines = []
    for sheet in sheets:
        target = (
            out
            if len(sheets) == 1
            else out.with_name(f"{out.stem}-{_file_part(sheet.name)}{out.suffix or '.csv'}")
        )
        write_atomic(target, as_csv(sheet))
        lines.append(f"wrote {target}")
    return lines


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "sheet"
