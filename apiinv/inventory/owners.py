"""Owners from the workbook tools.yaml names: the longest host and path prefix that covers a record wins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apiinv.inventory.excel_reader import read_workbook
from apiinv.inventory.keys import covers, normalize_host


@dataclass(frozen=True)
class OwnerRule:
    host: str
    path_prefix: str
    owner: str


def load_owners(path: Path, sheet: str | None = None) -> Callable[[dict[str, Any]], str | None]:
    """A lookup record -> owner from a workbook with columns host, path prefix, owner (and team)."""
    rules: list[OwnerRule] = []
    for book_sheet in read_workbook(path, sheet=sheet):
        columns = {h.lower().replace(" ", "_"): h for h in book_sheet.headers}
        if "owner" not in columns and "team" not in columns:
            continue
        for row in book_sheet.rows:
            owner = row.get(columns.get("owner", ""))
            team = row.get(columns.get("team", ""))
            label = f"{owner} ({team})" if owner and team else owner or team
            if not label:
                continue
            rules.append(
                OwnerRule(
                    normalize_host(str(row.get(columns.get("host", "")) or "")),
                    str(row.get(columns.get("path_prefix", columns.get("path", ""))) or ""),
                    str(label),
                )
            )
    rules.sort(key=lambda r: (-len(r.host), -len(r.path_prefix)))

    def owner_for(record: dict[str, Any]) -> str | None:
        host = normalize_host(record.get("host"))
        path = record.get("url", "")
        path = path[path.find("/", path.find("//") + 2) :] if "//" in path else path
        for rule in rules:
            if rule.host and rule.host != host:
                continue
            if covers(rule.path_prefix, path):
                return rule.owner
        return None

    return owner_for
