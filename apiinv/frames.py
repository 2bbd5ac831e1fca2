"""A date's report as pandas DataFrames, for analysts in notebooks: ``apiinv.load("output")``.

Reads the combined JSON report a run wrote (``api-inventory-DATE.json``): nothing is recomputed, so a
notebook sees exactly what the workbook and the mail said. pandas is imported here only, never by the
command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from apiinv.errors import UsageError
from apiinv.store import Store

if TYPE_CHECKING:
    import pandas as pd

TIMESTAMPS = ("first_seen", "last_seen", "audit_date", "last_modified")


@dataclass
class Inventory:
    """One date's report: the merged inventory, every finding row, the changes and the trend."""

    day: str
    run: dict[str, Any]
    inventory: pd.DataFrame
    findings: pd.DataFrame  # one row per (finding, endpoint), with the reason and the inventory's columns
    changes: pd.DataFrame
    trend: pd.DataFrame

    @property
    def incomplete(self) -> bool:
        return bool(self.run.get("incomplete"))


def load(output: str | Path = "output", day: str | date | None = None) -> Inventory:
    """The combined report of ``day`` (default: the newest date with one) under ``output``."""
    import pandas as pd

    store = Store(Path(output))
    if day is None:
        reported = [d for d in store.dates() if (store.read_manifest(d).get("report") or {}).get("files")]
        if not reported:
            raise UsageError(f"no reports under {output}; run apiinv run or export first")
        day = reported[-1]
    path = store.date_dir(str(day)) / f"api-inventory-{day}.json"
    if not path.is_file():
        raise UsageError(f"{path}: no combined JSON report for {day} (export with --format json)")
    document = orjson.loads(path.read_bytes())
    inventory = pd.DataFrame(document["records"])
    for column in TIMESTAMPS:
        if column in inventory:
            inventory[column] = pd.to_datetime(inventory[column], utc=True)
    reasons = pd.DataFrame(
        [
            {"finding": name, "endpoint_key": row["endpoint_key"], "reason": row["reason"]}
            for name, rows in document["findings"].items()
            for row in rows
        ],
        columns=["finding", "endpoint_key", "reason"],
    )
    findings = reasons.merge(inventory, on="endpoint_key", how="left")
    trend = pd.json_normalize(document.get("trend") or [])
    if "date" in trend:
        trend["date"] = pd.to_datetime(trend["date"])
    return Inventory(
        day=str(day),
        run=document["run"],
        inventory=inventory,
        findings=findings,
        changes=pd.DataFrame(document["changes"]),
        trend=trend,
    )
