"""One run per schedule at a time: an exclusive flock on output/.locks/NAME.lock.

The kernel drops a flock when its process dies, so a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path

from apiinv.errors import LockHeldError
from apiinv.store import make_dirs, open_private


def lock_name(schedule: str | None, tools: list[str]) -> str:
    if schedule:
        return schedule
    joined = "-".join(sorted(tools)) or "all"
    return "run-" + re.sub(r"[^A-Za-z0-9_.-]", "_", joined)[:80]


@contextlib.contextmanager
def hold(lock_dir: Path, name: str) -> Iterator[Path]:
    make_dirs(lock_dir)
    path = lock_dir / f"{name}.lock"
    fd = open_private(path, os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LockHeldError(f"{name} is already running (pid {holder}; lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)
