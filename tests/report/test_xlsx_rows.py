"""The faster worksheet writes the same file as xlsxwriter's own, part for part, whatever the cells."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xlsxwriter.worksheet import Worksheet

from apiinv.report import xlsx
from apiinv.report.xlsx_rows import VERIFIED, InlineRowsWorksheet, worksheet_class

CREATED = datetime(2026, 1, 2, 3, 4, 5)

# What a vendor may send, and what xlsxwriter treats specially: escapes, its own _xHHHH_ notation, rich
# text markers, whitespace at either end, controls, non-characters, astral characters, long text.
SPECIAL_TEXTS = [
    "",
    " ",
    " lead",
    "trail ",
    "a & b < c > d \" e ' f",
    "_x0041_",
    "_x00",
    "<r>rich</r>",
    "<r>",
    "line\nbreak",
    "tab\there",
    "cr\rhere",
    "\x07bell",
    "\ufffe\uffff",
    "\u00a0nbsp\u00a0",
    "\u202eevil",
    "emoji \U0001f600",
    "=1+1",
    "x" * 20_000,
    "\U0001f600" * 17_000,
]
TEXTS = st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL_TEXTS))
# Equal moments in different zones show different local times once the zone is removed.
ZONES = [UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-3))]
MOMENTS = st.one_of(
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)),
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from(ZONES)
    ),
)
NUMBERS = st.one_of(st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False))
CELLS = st.one_of(
    st.tuples(st.just("string"), TEXTS),
    st.tuples(st.just("number"), NUMBERS),
    st.tuples(st.just("boolean"), st.booleans()),
    st.tuples(st.just("datetime"), MOMENTS),
)
# (row step, column, kind and value, formatted): rows go forward as a table's do, sometimes back.
WRITES = st.lists(
    st.tuples(
        st.sampled_from([0, 0, 1, 1, 2, -1]),
        st.one_of(st.integers(0, 12), st.just(300)),
        CELLS,
        st.booleans(),
    ),
    max_size=60,
)


def _write(path: Path, sheet_class: type[Any], writes: list[Any], row_heights: bool) -> None:
    options = {"constant_memory": True, "strings_to_formulas": False, "remove_timezone": True}
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"created": CREATED})
    plain, wrapped = book.add_format({"valign": "top"}), book.add_format({"text_wrap": True})
    dated = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = book.add_worksheet("Data", worksheet_class=sheet_class)
    sheet.set_column(2, 2, 30, wrapped)
    sheet.set_row(0, None, plain)
    row = 0
    for step, col, (kind, value), formatted in writes:
        row = max(0, row + step)
        if row_heights and step == 1:
            sheet.set_row(row, 30)
        cell_format = (dated if kind == "datetime" else plain) if formatted else None
        getattr(sheet, f"write_{kind}")(row, col, value, cell_format)
    sheet.write_string("B2", "by its A1 name", plain)  # an earlier row: xlsxwriter's own path refuses it
    book.close()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=WRITES, row_heights=st.booleans())
def test_every_part_is_what_xlsxwriter_writes(tmp_path: Path, writes: list[Any], row_heights: bool) -> None:
    _write(tmp_path / "stock.xlsx", Worksheet, writes, row_heights)
    _write(tmp_path / "fast.xlsx", InlineRowsWorksheet, writes, row_heights)
    assert _parts(tmp_path / "fast.xlsx") == _parts(tmp_path / "stock.xlsx")


def test_special_texts_and_moments_are_written_as_xlsxwriter_writes_them(tmp_path: Path) -> None:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    writes: list[Any] = [(1, 0, ("string", text), True) for text in SPECIAL_TEXTS]
    writes += [(1, 1, ("datetime", moment.astimezone(zone)), True) for zone in ZONES]
    writes += [(0, 2, ("datetime", moment.replace(tzinfo=None)), True)]
    _write(tmp_path / "stock.xlsx", Worksheet, writes, False)
    _write(tmp_path / "fast.xlsx", InlineRowsWorksheet, writes, False)
    assert _parts(tmp_path / "fast.xlsx") == _parts(tmp_path / "stock.xlsx")


def test_calls_by_keyword_and_formats_that_are_not_formats_are_taken_as_xlsxwriter_takes_them(
    tmp_path: Path,
) -> None:
    answers = {}
    for name, sheet_class in (("stock", Worksheet), ("fast", InlineRowsWorksheet)):
        book = xlsxwriter.Workbook(str(tmp_path / f"{name}.xlsx"), {"constant_memory": True})
        book.set_properties({"created": CREATED})
        bold = book.add_format({"bold": True})
        sheet = book.add_worksheet("Data", worksheet_class=sheet_class)
        sheet.set_column(0, 0, 20, bold)
        answers[name] = [
            sheet.write_string(0, 0, "x", cell_format=bold),
            sheet.write_number(1, 0, number=5),
            sheet.write_boolean(2, 0, boolean=True),
            sheet.write_datetime(3, 0, datetime(2020, 1, 1), cell_format=bold),
            sheet.write_string(4, 0, "no format: the column's", 0),
            sheet.write_string(5, 0, "x" * 40_000),
            sheet.write_string(4, 1, "an earlier row"),
        ]
        book.close()
    assert answers["fast"] == answers["stock"]
    assert _parts(tmp_path / "fast.xlsx") == _parts(tmp_path / "stock.xlsx")


def test_a_column_of_distinct_times_keeps_few_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apiinv.report import xlsx_rows

    monkeypatch.setattr(xlsx_rows, "MOMENTS_KEPT", 5)
    monkeypatch.setattr(xlsx, "MOMENTS_KEPT", 5)
    rows = [{"seen": f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"} for n in range(300)]
    columns = [xlsx.Column("Seen", "seen", "date")]
    for name, sheet_class in (("stock", Worksheet), ("fast", InlineRowsWorksheet)):
        monkeypatch.setattr(xlsx, "ROWS_WORKSHEET", sheet_class)
        book = xlsx.Workbook(tmp_path / f"{name}.xlsx", properties={"created": CREATED})  # type: ignore[dict-item]
        book.table("Records", columns, rows)
        assert len(book.moments) <= 5
        sheets = [s for s in book.book.worksheets() if isinstance(s, InlineRowsWorksheet)]
        assert all(len(s._serials) <= 5 for s in sheets)
        book.close()
    assert _parts(tmp_path / "fast.xlsx") == _parts(tmp_path / "stock.xlsx")


def test_a_table_is_written_as_xlsxwriter_writes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    columns = [
        xlsx.Column("Name", "name"),
        xlsx.Column("Notes", "notes", "wrap"),
        xlsx.Column("Score", "score", "number"),
        xlsx.Column("Seen", "seen", "date"),
        xlsx.Column("Auth", "auth", "bool"),
        xlsx.Column("Tags", "tags", "list"),
    ]
    start = datetime(2026, 11, 1)
    rows = [
        {
            "name": f" api {n} & <co> \x01" if n % 7 == 0 else f"api-{n}",
            "notes": "long text " * (n % 9),
            "score": n * 1.5 if n % 2 else n,
            "seen": (start + timedelta(minutes=n)).isoformat() + "Z" if n % 5 else "not a date",
            "auth": n % 3 == 0 if n % 4 else "unknown",
            "tags": ["a", "b"] if n % 2 else [],
        }
        for n in range(400)
    ]
    for name, sheet_class in (("stock", Worksheet), ("fast", InlineRowsWorksheet)):
        monkeypatch.setattr(xlsx, "ROWS_WORKSHEET", sheet_class)
        book = xlsx.Workbook(tmp_path / f"{name}.xlsx", properties={"created": CREATED}, max_rows=150)  # type: ignore[dict-item]
        book.table("Records", columns, rows)
        book.close()
    assert _parts(tmp_path / "fast.xlsx") == _parts(tmp_path / "stock.xlsx")


def test_the_locked_xlsxwriter_is_the_one_verified() -> None:
    # A new xlsxwriter release is used with its own worksheet (slower) until these tests pass with it
    # and VERIFIED names it.
    assert xlsxwriter.__version__ in VERIFIED, f"xlsxwriter {xlsxwriter.__version__}: verify xlsx_rows"
    assert worksheet_class() is InlineRowsWorksheet
    assert xlsx.ROWS_WORKSHEET is InlineRowsWorksheet
