"""The flocks that keep runs, exports and cleanup out of each other's way.

- One run per schedule at a time: exclusive, output/.locks/NAME.lock, refused when held.
- A date in use: shared, output/DATE/.in-use.lock, held by every run, collect, process and export of the
  date; cleanup deletes a date only while it holds it exclusively.
- One export of a date at a time: exclusive, output/DATE/.export.lock, waited for (within a bound), so
  the later export reads what the earlier one wrote.

The kernel drops a flock when its process dies, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from apiinv.errors import LockHeldError, RunLockHeldError
from apiinv.store import make_dirs, open_private

IN_USE = ".in-use.lock"
EXPORT = ".export.lock"
# `status` looks whether a run's lock is held by taking it for an instant: a run starting in that
# instant tries again for this long before it says the schedule is running.
START_GRACE_S = 0.25
# An export waits this long for another export of its date (a million-record workbook takes minutes).
EXPORT_WAIT_S = 1800.0
# A run waits this long for cleanup to finish deleting its date.
DATE_WAIT_S = 600.0


def lock_name(schedule: str | None, tools: list[str]) -> str:
    if schedule:
        return schedule
    joined = "-".join(sorted(tools)) or "all"
    return "run-" + re.sub(r"[^A-Za-z0-9_.-]", "_", joined)[:80]


def _acquire(fd: int, operation: int, wait: float) -> bool:
    """flock ``operation`` on ``fd``, trying again for up to ``wait`` seconds; False when still held."""
    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.2)


def _open(path: Path) -> int:
    return open_private(path, os.O_RDWR | os.O_CREAT)


def _pid_in(fd: int) -> str:
    return os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"


@contextlib.contextmanager
def hold(lock_dir: Path, name: str) -> Iterator[Path]:
    """The run lock of ``name``, with this process's pid written in it for whoever finds it held."""
    path = make_dirs(lock_dir) / f"{name}.lock"
    fd = _open(path)
    try:
        if not _acquire(fd, fcntl.LOCK_EX, START_GRACE_S):
            raise RunLockHeldError(f"{name} is already running (pid {_pid_in(fd)}; lock {path})")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)


def _taken(fd: int, operation: int) -> bool:
    """Whether someone else holds the lock of ``fd`` against ``operation`` (it is released at once
    when free)."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def holder(lock_dir: Path, name: str) -> str | None:
    """The pid written in the run lock ``name`` while a run holds it; None when nobody does."""
    path = lock_dir / f"{name}.lock"
    if not path.is_file():
        return None
    fd = _open(path)
    try:
        return _pid_in(fd) if _taken(fd, fcntl.LOCK_SH) else None
    finally:
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


@contextlib.contextmanager
def use_date(folder: Path) -> Iterator[None]:
    """Hold the date ``folder`` (created if need be) while working in it. Shared: runs of one date go
    side by side; only cleanup, which takes it exclusively, is kept out (and waited for)."""
    while True:
        path = make_dirs(folder) / IN_USE
        fd = _open(path)
        if not _acquire(fd, fcntl.LOCK_SH, DATE_WAIT_S):
            os.close(fd)
            raise LockHeldError(f"{folder}: cleanup still holds the date after {DATE_WAIT_S:g} s")
        if _same_file(fd, path):
            break
        os.close(fd)  # cleanup deleted the date while we waited for it: hold the new folder's lock
    try:
        yield
    finally:
        os.close(fd)


def in_use(folder: Path) -> bool:
    """Whether a run, collect, process or export holds the date ``folder`` now."""
    path = folder / IN_USE
    if not path.is_file():
        return False
    fd = _open(path)
    try:
        return _taken(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)


@contextlib.contextmanager
def claim_date(folder: Path) -> Iterator[bool]:
    """The date ``folder`` held exclusively (what cleanup deletes it under); False when a run uses it."""
    fd = _open(folder / IN_USE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def exporting(folder: Path) -> Iterator[None]:
    """One export of the date ``folder`` at a time: a second one waits its turn rather than failing."""
    path = make_dirs(folder) / EXPORT
    fd = _open(path)
    try:
        if not _acquire(fd, fcntl.LOCK_EX, EXPORT_WAIT_S):
            raise LockHeldError(
                f"another export of {folder.name} still holds {path} after {EXPORT_WAIT_S:g} s: "
                "reports not written"
            )
        yield
    finally:
        os.close(fd)
