from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from apiinv.inventory.excel_reader import read_workbook


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    owners = book.active
    owners.title = "Owners"
    owners["A1"] = "API owners, November 2026"
    owners.merge_cells("A1:E1")
    owners.append([])
    owners.append(["Host ", "Path  prefix", "Owner", "Since", "Cost centre"])
    owners.append(["  api.acme.example ", "/pay", "Alice\t ", datetime(2026, 1, 15), "00123"])
    owners.append([None, None, None, None, None])
    owners.append(["edge.acme.example", "/", "Bob", date(2025, 6, 1), 4711])
    numbers = book.create_sheet("Numbers")
    numbers.append(["id", "score", "ok"])
    numbers.append([1, 9.5, True])
    numbers.append([2, 7.0, False])
    book.create_sheet("Empty")
    path = tmp_path / "owners.xlsx"
    book.save(path)
    return path


def test_every_sheet_with_its_header_row_found(workbook: Path) -> None:
    owners, numbers, empty = read_workbook(workbook)
    assert (owners.name, owners.header_row) == ("Owners", 3)
    assert owners.headers == ["Host", "Path prefix", "Owner", "Since", "Cost centre"]
    assert owners.rows == [
        {
            "Host": "api.acme.example",
            "Path prefix": "/pay",
            "Owner": "Alice",
            "Since": date(2026, 1, 15),
            "Cost centre": "00123",
        },
        {
            "Host": "edge.acme.example",
            "Path prefix": "/",
            "Owner": "Bob",
            "Since": date(2025, 6, 1),
            "Cost centre": 4711,
        },
    ]
    assert numbers.rows == [{"id": 1, "score": 9.5, "ok": True}, {"id": 2, "score": 7, "ok": False}]
    assert (empty.headers, empty.rows) == ([], [])


def test_an_xls_workbook(tmp_path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Legacy")
    for column, title in enumerate(["host", "owner", "reviewed"]):
        sheet.write(0, column, title)
    sheet.write(1, 0, " old.acme.example ")
    sheet.write(1, 1, "Carol")
    sheet.write(1, 2, datetime(2024, 3, 4), xlwt.easyxf(num_format_str="YYYY-MM-DD"))
    sheet.write(2, 0, "x.acme.example")
    sheet.write(2, 1, 42.0)
    path = tmp_path / "legacy.xls"
    book.save(str(path))
    (legacy,) = read_workbook(path)
    assert legacy.rows == [
        {"host": "old.acme.example", "owner": "Carol", "reviewed": date(2024, 3, 4)},
        {"host": "x.acme.example", "owner": 42, "reviewed": None},
    ]


def test_excel_command_describes_and_exports(cli, workbook: Path, tmp_path: Path) -> None:
    described = cli("excel", str(workbook))
    assert described.exit_code == 0
    assert "Owners: 2 rows, header on row 3: Host, Path prefix, Owner, Since, Cost centre" in described.output
    as_json = cli("excel", str(workbook), "--sheet", "Owners", "--to", "json")
    document = json.loads(as_json.output)
    assert document["sheets"][0]["rows"][0]["Since"] == "2026-01-15"  # a date, typed as one
    assert document["sheets"][0]["rows"][0]["Cost centre"] == "00123"
    out = tmp_path / "export.csv"
    result = cli("excel", str(workbook), "--to", "csv", "--out", str(out))
    assert result.exit_code == 0
    assert (tmp_path / "export-Numbers.csv").read_text().splitlines() == [
        "id,score,ok",
        "1,9.5,True",
        "2,7,False",
    ]
    assert (
        (tmp_path / "export-Owners.csv")
        .read_text()
        .splitlines()[1]
        .startswith("api.acme.example,/pay,Alice,")
    )


@pytest.mark.parametrize(
    "name, content, code, message",
    [
        ("missing.xlsx", None, 2, "file not found"),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 6, "encrypted"),
        ("broken.xlsx", b"PK\x03\x04 this is not really a zip archive", 6, "corrupt workbook"),
        ("broken.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"garbage" * 50, 6, "corrupt .xls workbook"),
        ("notes.txt", b"hello", 2, "not an Excel file"),
    ],
)
def test_clear_errors_for_unreadable_files(cli, tmp_path: Path, name, content, code, message) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = cli("excel", str(path))
    assert result.exit_code == code, result.output
    assert message in result.output and str(path) in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_sheet_is_named(cli, workbook: Path) -> None:
    result = cli("excel", str(workbook), "--sheet", "Nope")
    assert result.exit_code == 2 and "no sheet 'Nope' (sheets: Owners, Numbers, Empty)" in result.output
