"""`apiinv cleanup`: retention. Dated folders, logs and cache files older than N days go; the newest
complete run (the newest date with written reports) always stays."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from apiinv.store import Store, orphans


@dataclass
class Cleanup:
    removed: list[Path] = field(default_factory=list)
    kept_newest: str | None = None
    freed: int = 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def newest_complete(store: Store) -> str | None:
    for day in reversed(store.dates()):
        if store.read_manifest(day).get("report"):
            return day
    return None


def plan(store: Store, max_age_days: int, today: date) -> Cleanup:
    result = Cleanup(kept_newest=newest_complete(store))
    cutoff = today - timedelta(days=max_age_days)
    for day in store.dates():
        if date.fromisoformat(day) < cutoff and day != result.kept_newest:
            result.removed.append(store.date_dir(day))
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
    for path in result.removed:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
