from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from apiinv.report.xlsx import EXCEL_MAX_TEXT, TRUNCATED, Column, Workbook, clean_text, sheet_name

HOSTILE = [
    '=HYPERLINK("http://attacker.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "=1+1",
    "Zahlungsübersicht — 支付接口",
    "tab\tand\nnewline",
    "bell\x07 and null\x00 shown, not dropped",
    "x" * 40_000,
]
COLUMNS = [
    Column("Name", "name"),
    Column("Score", "score", "number"),
    Column("Seen", "seen", "date"),
    Column("Auth", "auth", "bool"),
    Column("Kinds", "kinds", "list"),
    Column("Risk", "risk", "risk"),
]


def rows(count: int):
    for i in range(count):
        yield {
            "name": HOSTILE[i % len(HOSTILE)],
            "score": i / 2,
            "seen": "2026-11-22T10:30:00Z",
            "auth": i % 2 == 0,
            "kinds": ["api_key", "jwt"],
            "risk": ("critical", "high", "medium", "low")[i % 4],
        }


def write(path: Path, count: int, max_rows: int = 1_048_576) -> list[str]:
    book = Workbook(path, properties={"title": "t"}, max_rows=max_rows)
    names = book.table("Inventory", COLUMNS, rows(count))
    book.close()
    return names


def test_cells_keep_their_types_and_no_vendor_string_becomes_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write(path, 30)
    sheet = load_workbook(path)["Inventory"]
    assert [c.value for c in sheet[1]] == ["Name", "Score", "Seen", "Auth", "Kinds", "Risk"]
    assert sheet.max_row == 31
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F31"
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    names = [sheet.cell(row=r, column=1).value for r in range(2, 11)]
    assert names[:6] == HOSTILE[:6]
    assert names[6] == "tab\tand\nnewline" and names[7] == "bell\\x07 and null\\x00 shown, not dropped"
    assert len(names[8]) == EXCEL_MAX_TEXT and names[8].endswith(TRUNCATED)
    second = sheet[3]
    assert second[1].value == 0.5 and second[1].data_type == "n"
    assert second[2].value == datetime(2026, 11, 22, 10, 30) and second[2].is_date
    assert second[3].value is False and second[4].value == "api_key, jwt"
    assert sheet.conditional_formatting  # risk levels are colour-coded


def test_a_sheet_past_the_row_limit_continues_on_a_numbered_sheet(tmp_path: Path) -> None:
    path = tmp_path / "split.xlsx"
    names = write(path, 25, max_rows=10)
    assert names == ["Inventory", "Inventory (2)", "Inventory (3)"]
    book = load_workbook(path)
    counts = [book[name].max_row - 1 for name in names]
    assert counts == [9, 9, 7] and sum(counts) == 25
    assert all(book[name]["A1"].value == "Name" for name in names)


def test_empty_table_still_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    assert write(path, 0) == ["Inventory"]
    sheet = load_workbook(path)["Inventory"]
    assert sheet.max_row == 1 and sheet["A1"].value == "Name"


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Shadow APIs", "Shadow APIs"),
        ("a/b\\c[d]e:f*g?h", "a_b_c_d_e_f_g_h"),
        ("x" * 40, "x" * 31),
        ("History", "History_"),
        ("'quoted'", "quoted"),
    ],
)
def test_sheet_names_are_made_valid(title: str, expected: str) -> None:
    assert sheet_name(title, set()) == expected


def test_sheet_names_are_made_unique() -> None:
    taken: set[str] = set()
    assert [sheet_name(n, taken) for n in ["Kong", "kong", "KONG", "y" * 31, "y" * 31]] == [
        "Kong",
        "kong (2)",
        "KONG (3)",
        "y" * 31,
        "y" * 27 + " (2)",
    ]


def test_clean_text_keeps_ordinary_text() -> None:
    assert clean_text("plain text") == "plain text"
    assert clean_text("a\x01b\x1fc\u202ed") == "a\\x01b\\x1fc\\u202ed"  # escaped, never dropped
