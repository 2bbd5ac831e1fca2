"""The process's memory: how much it holds and may still take (Linux; None elsewhere), and what keeps
a large estate small in it: freed heap handed back, threads on two heaps, the cycle collector kept to
young objects while a stage runs, equal texts held once, values held as their JSON text."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

# Where Linux says how much memory there is (patched by tests).
MEMINFO = Path("/proc/meminfo")
PROC_CGROUP = Path("/proc/self/cgroup")
CGROUP_FILES = Path("/sys/fs/cgroup")


def resident() -> int | None:
    """This process's resident memory in bytes (Linux), else None."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def available() -> int | None:
    """What this process may still take without swapping, in bytes (None when unknown): the system's
    MemAvailable, or less where a cgroup (v2) limits the process, as a container's or a systemd
    unit's ``MemoryMax`` does: a container's /proc/meminfo shows the whole host."""
    system, room = _meminfo_available(), _cgroup_room()
    if room is None:
        return system
    return room if system is None else min(system, room)


def _meminfo_available() -> int | None:
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """The least room (``memory.max`` less ``memory.current``) of the process's cgroup and those
    above it that set a limit; None without a limit or a cgroup v2 hierarchy."""
    try:
        lines = PROC_CGROUP.read_text().splitlines()
        own = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
    except (OSError, StopIteration, IndexError):
        return None
    rooms = []
    folder = CGROUP_FILES / own.strip().lstrip("/")
    while True:
        try:
            limit = (folder / "memory.max").read_text().strip()
            if limit != "max":
                rooms.append(max(0, int(limit) - int((folder / "memory.current").read_text())))
        except (OSError, ValueError):
            pass
        if folder == CGROUP_FILES or CGROUP_FILES not in folder.parents:
            break
        folder = folder.parent
    return min(rooms) if rooms else None


def release() -> None:
    """What was freed, handed back to the system: glibc keeps freed heap for the process, so one
    ``run`` would otherwise peak at the sum of its stages rather than at the largest."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# mallopt's M_ARENA_MAX (glibc's malloc.h), and how many heaps this process's threads share.
_M_ARENA_MAX = -8
ARENAS = 2


def fewer_heaps() -> None:
    """glibc gives threads that allocate at once heaps of their own (up to eight a core), and what one
    heap frees is not reused by another: collect's threads (a tool each, and their requests) left 37 MB
    of the 10,000-API day-two collect's 328 MB peak spread over them, and the export 17 MB. Threads that
    mostly wait for answers lose nothing sharing two. A ``MALLOC_ARENA_MAX`` of the operator's is kept;
    elsewhere than glibc there is nothing to do."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, ARENAS)


_holding = 0  # how many stages hold full collections off now (they may run in threads side by side)
_holding_lock = threading.Lock()
_thresholds = gc.get_threshold()
# No count of young collections reaches it: only ``gc.collect()`` walks the whole heap.
NEVER = 2**30


@contextlib.contextmanager
def full_collections_held() -> Iterator[None]:
    """Python's cycle collector kept to young objects while a stage runs. A stage that reads a large
    collection (day two's collect holds the last one of every tool, ``process`` a whole raw file)
    keeps it to the end, and each full collection on the way walks all of it again for nothing: a
    quarter of day two's collect, and a larger share the larger the estate. Cycles among young
    objects (answers, retries' exceptions) are collected as ever; older ones wait for the next full
    collection after the stage (``release``, or the collector's own)."""
    global _holding, _thresholds
    with _holding_lock:
        if _holding == 0:
            _thresholds = gc.get_threshold()
            gc.set_threshold(_thresholds[0], _thresholds[1], NEVER)
        _holding += 1
    try:
        yield
    finally:
        with _holding_lock:
            _holding -= 1
            if _holding == 0:
                gc.set_threshold(*_thresholds)


# Longer texts are left as they are: they seldom repeat (a spec's base64, a long description), and
# the table would keep each one alive as long as itself, after its document is gone.
SHARED_TEXT_MAX = 200


def share_texts(document: Any, texts: dict[str, str]) -> Any:
    """``document`` (parsed JSON) with each of its string values (up to SHARED_TEXT_MAX characters)
    replaced by the equal one already in ``texts`` (added when new), in place. A parser makes a new
    string object for every value, and a vendor's answers repeat few of them many times ("OK", a
    team's name, a host, a media type): at 10,000 APIs a 42Crunch collection's 415,000 strings held
    34,000 distinct values, and sharing them took its answers from 95 to 69 MB in memory, Cequence's
    from 46 to 24 MB. Keys are left as they are (orjson shares short ones itself). ``texts`` may be
    shared between threads; it holds what it was given until it is cleared."""
    stack = [document] if type(document) in (dict, list) else []
    pop, push, share, longest = stack.pop, stack.append, texts.setdefault, SHARED_TEXT_MAX
    while stack:
        node = pop()
        # Values are replaced in place, never added or removed: safe while a mapping is walked.
        for slot, value in node.items() if type(node) is dict else enumerate(node):
            kind = type(value)
            if kind is str:
                if len(value) <= longest:
                    node[slot] = share(value, value)
            elif kind is dict or kind is list:
                push(value)
    return document


class RawJson:
    """One JSON value held as its text: what a collection passes on as it is and never looks into (a
    42Crunch API's spec and audit reports) takes about a byte a character this way, where parsed it
    took five (dicts, lists, strings): 42Crunch's last collection at 10,000 APIs held 109 MB parsed,
    32 MB so. The store writes it as it is; ``value()`` parses it when something must look after all."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text

    def value(self) -> Any:
        return orjson.loads(self.text)

    def __eq__(self, other: object) -> bool:
        return bool(self.value() == (other.value() if isinstance(other, RawJson) else other))

    __hash__ = None  # type: ignore[assignment]  # equal to what it parses to, which may be a dict

    def __repr__(self) -> str:
        return f"RawJson({self.text[:60]!r}{'...' if len(self.text) > 60 else ''})"


def as_raw_json(value: Any) -> Any:
    """``value`` held as its JSON text (a RawJson); as it is when that cannot be written (a lone
    surrogate in one of its strings, which the store writes escaped)."""
    try:
        # A copy of exactly its length: orjson's own output keeps the room its buffer grew to.
        text = orjson.dumps(value, default=written_as_is, option=orjson.OPT_NON_STR_KEYS)
        return RawJson(bytes(memoryview(text)))
    except TypeError:
        return value


def written_as_is(value: Any) -> Any:
    """orjson's ``default``: a RawJson written as the text it holds."""
    if isinstance(value, RawJson):
        return orjson.Fragment(value.text)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def parsed(value: Any) -> Any:
    """``value`` itself, or the value a RawJson holds."""
    return value.value() if isinstance(value, RawJson) else value
