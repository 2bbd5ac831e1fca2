"""The output store: dated folders, atomic owner-only files, and the manifest of each date.

Every file is written to a hidden temporary name beside its target, fsynced and renamed into place,
so a crash or a failed tool never leaves half a file and never replaces a good one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from apiinv.errors import StoreError
from apiinv.timefmt import iso

FILE_MODE = 0o600
DIR_MODE = 0o700
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_manifest_lock = threading.Lock()


def now_iso() -> str:
    return iso(datetime.now(UTC))


def make_dirs(path: Path) -> Path:
    """Create a folder (and parents) owner-only, whatever the umask."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
            folder.chmod(DIR_MODE)
    return path


def write_atomic(path: Path, chunks: bytes | Iterable[bytes | memoryview], *, mode: int = FILE_MODE) -> Path:
    """Write ``chunks`` to ``path`` all or nothing."""
    make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            if isinstance(chunks, bytes | bytearray):
                handle.write(chunks)
            else:
                for chunk in chunks:
                    handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path to hand to a library that writes files itself (xlsxwriter); renamed on success."""
    make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(FILE_MODE)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dumps(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def write_json(path: Path, document: Any) -> Path:
    return write_atomic(path, dumps(document))


def read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise StoreError(f"{path}: not found") from None
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON ({exc.msg})") from None


class Store:
    """Files of one output root: ``DATE/raw``, ``DATE/processed``, reports, manifests, logs, cache."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # paths
    def date_dir(self, day: date | str) -> Path:
        return self.root / str(day)

    def raw_path(self, day: date | str, tool: str) -> Path:
        return self.date_dir(day) / "raw" / f"{tool}.json"

    def processed_path(self, day: date | str, tool: str) -> Path:
        return self.date_dir(day) / "processed" / f"{tool}.json"

    def manifest_path(self, day: date | str) -> Path:
        return self.date_dir(day) / MANIFEST

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    @property
    def lock_dir(self) -> Path:
        return self.root / ".locks"

    # dates
    def dates(self) -> list[str]:
        """Dated folders, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _DATE_DIR.match(p.name))

    # manifest
    def read_manifest(self, day: date | str) -> dict[str, Any]:
        path = self.manifest_path(day)
        if not path.exists():
            return {"version": MANIFEST_VERSION, "date": str(day), "tools": {}, "runs": []}
        return read_json(path)

    def record_step(self, day: date | str, tool: str, step: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Merge one step's outcome for one tool into the date's manifest (threads and processes safe)."""
        return self._update_manifest(day, lambda m: m["tools"].setdefault(tool, {}).__setitem__(step, entry))

    def record_report(self, day: date | str, report: dict[str, Any]) -> dict[str, Any]:
        return self._update_manifest(day, lambda m: m.__setitem__("report", report))

    def record_run(self, day: date | str, run: dict[str, Any]) -> dict[str, Any]:
        return self._update_manifest(day, lambda m: m.setdefault("runs", []).append(run))

    def _update_manifest(self, day: date | str, change) -> dict[str, Any]:
        folder = make_dirs(self.date_dir(day))
        with _manifest_lock, open(_lockfile(folder / ".manifest.lock"), "rb+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            manifest = self.read_manifest(day)
            change(manifest)
            manifest["updated_at"] = now_iso()
            write_json(self.manifest_path(day), manifest)
            return manifest

    def step(self, day: date | str, tool: str, step: str) -> dict[str, Any] | None:
        return self.read_manifest(day).get("tools", {}).get(tool, {}).get(step)

    def last_good(self, tool: str, step: str, *, before: date | str | None = None) -> str | None:
        """The newest date (strictly before ``before``) where ``tool`` finished ``step`` successfully."""
        for day in reversed(self.dates()):
            if before is not None and day >= str(before):
                continue
            entry = self.step(day, tool, step)
            if entry and entry.get("status") == "ok":
                return day
        return None


def _lockfile(path: Path) -> Path:
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
        os.close(fd)
    return path
