"""`apiinv cleanup`: retention. Dated folders, logs and cache files older than N days go; the newest
complete run (the newest date with written reports) always stays, and so does a date a run, collect,
process or export is working in (it holds the date's in-use lock)."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from apiinv.ops import locks
from apiinv.store import Store, orphans

IN_USE = "a run is using it"


@dataclass
class Cleanup:
    removed: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # old enough, kept, and why
    kept_newest: str | None = None
    freed: int = 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def newest_complete(store: Store) -> str | None:
    for day in reversed(store.dates()):
        if store.at(date.fromisoformat(day)).manifest.get("report"):
            return day
    return None


def plan(store: Store, max_age_days: int, today: date) -> Cleanup:
    result = Cleanup(kept_newest=newest_complete(store))
    cutoff = today - timedelta(days=max_age_days)
    for day in store.dates():
        if date.fromisoformat(day) < cutoff and day != result.kept_newest:
            folder = store.date_dir(day)
            if locks.in_use(folder):
                result.skipped.append((folder, IN_USE))
            else:
                result.removed.append(folder)
    oldest_mtime = time.time() - max_age_days * 86400
    for folder, pattern in ((store.log_dir, "*.log*"), (store.cache_dir, "*.sqlite")):
        if folder.is_dir():
            for path in sorted(folder.glob(pattern)):
                if path.name != "apiinv.log" and path.stat().st_mtime < oldest_mtime:
                    result.removed.append(path)
    # Temporary files a crashed write left behind, wherever apiinv writes (rglob does not descend into
    # symlinked folders).
    doomed = set(result.removed)
    if store.root.is_dir():
        for folder in [store.root, *sorted(p for p in store.root.rglob("*") if p.is_dir())]:
            if not doomed.intersection([folder, *folder.parents]):
                result.removed.extend(orphans(folder))
    result.freed = sum(_size(p) for p in result.removed)
    return result


def apply(result: Cleanup) -> None:
    """Delete what ``plan`` found; a date is deleted only while no run holds it (one may have started
    since the plan): one that does moves to ``skipped``."""
    for path in list(result.removed):
        if not path.is_dir():
            path.unlink(missing_ok=True)
            continue
        with locks.claim_date(path) as claimed:
            if claimed:
                shutil.rmtree(path)
                continue
        result.removed.remove(path)
        result.skipped.append((path, IN_USE))
        result.freed -= _size(path)
