"""CSV cells a spreadsheet would run as a formula are written as text: every trigger OWASP lists
(= + - @, tab and carriage return at the start), not only the common three."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from apiinv.report.documents import write_csv
from apiinv.report.xlsx import Column

COLUMNS = [Column("Endpoint", "endpoint_key"), Column("API", "api_name")]


def written(tmp_path: Path, name: object) -> str:
    path = write_csv(tmp_path / "inventory.csv", COLUMNS, [{"endpoint_key": "GET h/x", "api_name": name}])
    with open(path, newline="", encoding="utf-8") as handle:
        header, row = csv.reader(handle)
    assert header == ["Endpoint", "API"] and row[0] == "GET h/x"
    return row[1]


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://attacker.example","x")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1,2)",
        "\t=1+1",  # Excel skips the leading whitespace and runs the rest
    ],
)
def test_a_cell_that_would_start_a_formula_is_prefixed_with_a_quote(name: str, tmp_path: Path) -> None:
    assert written(tmp_path, name) == "'" + name


def test_a_negative_number_is_text_too(tmp_path: Path) -> None:
    assert written(tmp_path, -5) == "'-5"


def test_a_carriage_return_at_the_start_is_shown_escaped_never_raw(tmp_path: Path) -> None:
    assert written(tmp_path, "\r=1+1") == "\\x0d=1+1"


@pytest.mark.parametrize("name", ["Orders API", "x-1", "a=b", "1-2", "mail@x", " padded", "\nlater line"])
def test_a_cell_that_starts_no_formula_is_left_as_it_is(name: str, tmp_path: Path) -> None:
    assert written(tmp_path, name) == name
