"""The output store: dated folders, atomic owner-only files, and the manifest of each date.

Every file is written to a hidden temporary name beside its target, fsynced and renamed into place,
so a crash or a failed tool never leaves half a file and never replaces a good one.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from apiinv.errors import OutputWriteError, StoreError, os_reason
from apiinv.memory import written_as_is
from apiinv.timefmt import iso

FILE_MODE = 0o600
DIR_MODE = 0o700
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_DATE_DIR = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
TEMP_FILE = re.compile(r"\A\..+\.[A-Za-z0-9_]{8}(\.tmp|\.[A-Za-z0-9]+)\Z")
ORPHAN_AGE_S = 3600
_manifest_lock = threading.Lock()


def now_iso() -> str:
    return iso(datetime.now(UTC))


def make_dirs(path: Path) -> Path:
    """Create a folder (and parents) owner-only, whatever the umask. A symlink where one of our folders
    belongs is refused: it could send the attack-surface inventory anywhere."""
    missing = []
    current = path
    while not current.exists():
        if current.is_symlink():  # a dangling one
            raise StoreError(f"{current}: is a symbolic link; apiinv writes only into real folders")
        missing.append(current)
        current = current.parent
    try:
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):
                folder.mkdir(mode=DIR_MODE)
                folder.chmod(DIR_MODE)
    except OSError as exc:
        raise OutputWriteError(f"{folder}: cannot create folder: {os_reason(exc)}") from None
    if path.is_symlink() or not path.is_dir():
        raise StoreError(f"{path}: not a real folder (a symbolic link or a file is in the way)")
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open for our own files (locks, logs, cache databases): created 0600, never through a
    symlink (O_NOFOLLOW), so nobody can point one of them at a file of theirs to truncate or chmod."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a symlink
            raise StoreError(f"{path}: is a symbolic link; refusing to open it") from None
        raise StoreError(f"{path}: cannot open: {exc.strerror or exc}") from None


def orphans(folder: Path, *, older_than: float = ORPHAN_AGE_S) -> Iterator[Path]:
    """Temporary files a crashed write left in ``folder``: hidden, our naming, regular, over an hour old."""
    cutoff = time.time() - older_than
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if TEMP_FILE.match(entry.name):
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    yield Path(entry.path)


_swept: set[Path] = set()
_swept_lock = threading.Lock()


def sweep_orphans(folder: Path) -> None:
    """Remove ``folder``'s orphaned temporary files, once per process: the first write there does it."""
    with _swept_lock:
        if folder in _swept:
            return
        _swept.add(folder)
    for path in orphans(folder):
        with contextlib.suppress(OSError):
            path.unlink()


def _write_failed(path: Path, exc: OSError) -> StoreError:
    return OutputWriteError(f"{path}: cannot write: {os_reason(exc)}; the earlier file, if any, is kept")


def write_atomic(path: Path, chunks: bytes | Iterable[bytes | memoryview], *, mode: int = FILE_MODE) -> Path:
    """Write ``chunks`` to ``path`` all or nothing."""
    with atomic_path(path, mode=mode) as tmp, open(tmp, "wb") as handle:
        if isinstance(chunks, bytes | bytearray):
            handle.write(chunks)
        else:
            for chunk in chunks:
                handle.write(chunk)
    return path


@contextlib.contextmanager
def atomic_path(path: Path, *, mode: int = FILE_MODE) -> Iterator[Path]:
    """A temporary path beside ``path`` (created owner-only) for the caller or a library that writes
    files itself (xlsxwriter); fsynced and renamed into place on success, removed on failure."""
    make_dirs(path.parent)
    sweep_orphans(path.parent)
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp"
        )
    except OSError as exc:
        raise _write_failed(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(mode)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_failed(path, exc) from None
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
# How deep dumps_chunks walks mappings by itself before a value is one chunk, whatever its size.
_CHUNK_DEPTH = 8


def dumps(document: Any, *, indent: bool = True) -> bytes:
    options = _JSON_OPTIONS if indent else orjson.OPT_NON_STR_KEYS
    try:
        return orjson.dumps(document, default=written_as_is, option=options)
    except TypeError:
        # A lone surrogate (a file name that is not UTF-8, a vendor's broken escape) cannot be UTF-8:
        # it is written escaped as the bytes it stood for, never the reason a file is not written.
        return orjson.dumps(_utf8_safe(document), default=written_as_is, option=options)


def dumps_chunks(document: Any) -> Iterator[bytes]:
    """``document`` as JSON in pieces: mappings are walked down to their lists, indented, and each
    element of a list is one piece, one line of unindented JSON. So a raw inventory is written without
    ever being one bytes object as large as its file (which at 50,000 APIs is hundreds of MB on top of
    the inventory itself), has one item per line, and is half the size it was indented all through
    (a 42Crunch collection's specs nest deep): reading it back (process, and an incremental collect)
    holds the file's bytes and the parser's copy of them beside the parsed document. It reads back as
    ``dumps(document)`` does, but for one case: two keys that escape alike (a lone surrogate's escape
    and that text itself) are both written, where ``dumps`` writes the one read back."""
    yield from _chunks(document, 0)


def _chunks(value: Any, depth: int) -> Iterator[bytes]:
    if isinstance(value, dict) and value and depth < _CHUNK_DEPTH:
        inner = b"\n" + b"  " * (depth + 1)
        separator = b"{"
        for key, item in value.items():
            yield separator + inner + _key(key) + b": "
            yield from _chunks(item, depth + 1)
            separator = b","
        yield b"\n" + b"  " * depth + b"}"
    elif isinstance(value, list | tuple) and value:
        inner = b"\n" + b"  " * (depth + 1)
        separator = b"["
        for item in value:
            yield separator + inner + dumps(item, indent=False)
            separator = b","
        yield b"\n" + b"  " * depth + b"]"
    else:
        yield dumps(value).replace(b"\n", b"\n" + b"  " * depth)


def _key(key: Any) -> bytes:
    """A mapping's key as dumps writes it (a non-string one as a string, OPT_NON_STR_KEYS)."""
    return dumps({key: None})[4:-8]


def utf8_text(text: str) -> str:
    """``text`` as valid UTF-8: a surrogate left by a name that was not UTF-8 as its byte (``\\xff``),
    any other lone surrogate as its code (``\\udc80``)."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        pass
    bytes_only = all(0xDC80 <= ord(c) <= 0xDCFF for c in text if 0xD800 <= ord(c) <= 0xDFFF)
    raw = text.encode("utf-8", "surrogateescape" if bytes_only else "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def _utf8_safe(value: Any) -> Any:
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, dict):
        return {_utf8_safe(k): _utf8_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_utf8_safe(v) for v in value]
    return value


def write_json(path: Path, document: Any) -> Path:
    return write_atomic(path, dumps_chunks(document))


ItemHook = Callable[[tuple[str, ...], Any], Any]


def read_json(path: Path, on_item: ItemHook | None = None) -> Any:
    """The JSON document in ``path``, read a line at a time when it is laid out as ``dumps_chunks``
    (or orjson's indentation) writes it: the file's bytes are never held whole beside the parsed
    document, nor a parser's copy of them. ``on_item(keys, item)`` (when given) is called for each
    element of a list reached from the top through mappings only (``keys``: their keys down to it) as
    the element is read, and what it returns is kept instead. Any other layout is parsed whole, to the
    same document (the same calls of ``on_item`` made afterwards), or the same error."""
    try:
        with path.open("rb") as handle:
            try:
                return _LineReader(on_item).read(handle)
            except _NotByLine:
                pass  # out of the handler first: its traceback would keep what was read alive
            handle.seek(0)
            document = orjson.loads(handle.read())
        return _each_item(document, on_item, ()) if on_item else document
    except FileNotFoundError:
        raise StoreError(f"{path}: not found") from None
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON ({exc.msg})") from None


class _NotByLine(Exception):
    """The file is not laid out one value (or one container's opening or closing) per line."""


_KEY = re.compile(rb'"(?:[^"\\]|\\.)*": ')
_OPENERS = {b"{": dict, b"[": list}
_CLOSERS = {b"}": dict, b"]": list}


class _Open:
    """A container being read: where it goes, whether its last member ended with a comma."""

    __slots__ = ("comma", "key", "keys", "value")

    def __init__(self, value: Any, keys: tuple[str, ...] | None, key: str | None) -> None:
        self.value, self.keys, self.key = value, keys, key  # keys: None below a list's element
        self.comma: bool | None = None  # no member yet


class _LineReader:
    """Each line is a member of the container open last (``"key": `` first in a mapping): a whole value,
    or the opening of a container whose members follow; or that container's closing. A comma ends every
    member but a container's last."""

    def __init__(self, on_item: ItemHook | None) -> None:
        self.on_item = on_item
        self.stack: list[_Open] = []
        self.document: list[Any] = []  # the top value, once read

    def read(self, handle: BinaryIO) -> Any:
        try:
            for raw_line in handle:
                line = raw_line.strip()
                if line:
                    comma = line.endswith(b",")
                    self.line(line[:-1] if comma else line, comma)
        except orjson.JSONDecodeError:
            raise _NotByLine from None
        if self.stack or not self.document:
            raise _NotByLine
        return self.document[0]

    def line(self, line: bytes, comma: bool) -> None:
        stack = self.stack
        kind = _CLOSERS.get(line)
        if kind is not None:
            if not stack or type(stack[-1].value) is not kind or stack[-1].comma:
                raise _NotByLine
            done = stack.pop()
            self.place(done.value, done.key, read_whole=False)
        else:
            key = None
            if stack and type(stack[-1].value) is dict:
                found = _KEY.match(line)
                if found is None:
                    raise _NotByLine
                key, line = orjson.loads(found.group()[:-2]), line[found.end() :]
            if stack and stack[-1].comma is False:
                raise _NotByLine  # a member after one without its comma
            opens = _OPENERS.get(line)
            if opens is not None:  # its members follow, its comma on its closing line
                if comma:
                    raise _NotByLine
                self.open(opens(), key)
                return
            self.place(orjson.loads(line), key, read_whole=True)
        if stack:
            stack[-1].comma = comma
        elif comma:
            raise _NotByLine

    def open(self, container: Any, key: str | None) -> None:
        keys: tuple[str, ...] | None = None if self.document else ()
        if self.stack:
            parent = self.stack[-1]
            keys = None if parent.keys is None or key is None else (*parent.keys, key)
        self.stack.append(_Open(container, keys, key))

    def place(self, value: Any, key: str | None, *, read_whole: bool) -> None:
        """``value`` into its container; ``read_whole``: from one line (not yet seen by ``on_item``)."""
        on_item = self.on_item
        if not self.stack:
            if self.document:
                raise _NotByLine
            self.document.append(_each_item(value, on_item, ()) if read_whole and on_item else value)
            return
        where = self.stack[-1]
        if key is None:
            if where.keys is not None and on_item is not None:
                value = on_item(where.keys, value)
            where.value.append(value)
        else:
            if read_whole and where.keys is not None and on_item is not None:
                value = _each_item(value, on_item, (*where.keys, key))
            where.value[key] = value


def _each_item(value: Any, on_item: ItemHook, keys: tuple[str, ...]) -> Any:
    """``read_json``'s calls of ``on_item`` on a document parsed whole."""
    if isinstance(value, dict):
        for key, member in value.items():
            value[key] = _each_item(member, on_item, (*keys, key))
    elif isinstance(value, list):
        value[:] = [on_item(keys, item) for item in value]
    return value


# A processed file holds one record per line between its header line and its last (see
# pipeline.process): still one JSON document, and read back one record at a time.
RECORDS_OPEN = b',"records":[\n'
RECORDS_CLOSE = b"]}"


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a processed file, parsed one at a time: a large tool's parsed document never
    exists whole beside the rows made of it. A file in one piece (written before records went one per
    line) is parsed whole. A file that does not end as written (a record line without its comma, a
    comma without a record after it, no closing line) is an error, never fewer records."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise StoreError(f"{path}: not found") from None
    with handle:
        try:
            first = handle.readline(1 << 16)
            if not first.endswith(RECORDS_OPEN):
                handle.seek(0)
                yield from orjson.loads(handle.read())["records"]
                return
            orjson.loads(first[: -len(RECORDS_OPEN)] + b"}")  # the header is whole
            yield from _record_lines(handle, path)
        except orjson.JSONDecodeError as exc:
            raise StoreError(f"{path}: not valid JSON ({exc.msg})") from None


def _record_lines(handle: BinaryIO, path: Path) -> Iterator[dict[str, Any]]:
    closed = comma = last = False  # the closing line read; the previous record's comma; one without
    for line in handle:
        text = line.strip()
        if not text:
            continue
        if closed:
            raise StoreError(f"{path}: not valid JSON (content after its closing line)")
        if text == RECORDS_CLOSE:
            if comma:
                raise StoreError(f"{path}: not valid JSON (a comma and no record after it)")
            closed = True
            continue
        if last:
            raise StoreError(f"{path}: not valid JSON (a record line without its comma)")
        comma = text.endswith(b",")
        last = not comma
        yield orjson.loads(text[:-1] if comma else text)
    if not closed:
        raise StoreError(f"{path}: not valid JSON (it ends before its last record)")


def _day(day: date | str) -> date:
    """A date as ``date``, from the callers that still hold a folder's name (frames, tests)."""
    return day if isinstance(day, date) else date.fromisoformat(day)


class Store:
    """Files of one output root: ``DATE/raw``, ``DATE/processed``, reports, manifests, logs, cache.

    A ``simulated`` store (the demo's) marks everything it records ``"simulated": true``, each step,
    report and run and the date itself, so that simulated and real data are never compared.

    ``at(day)`` is the handle of one date, kept per store: one date, one manifest read per process. Its
    handles are the index ``last_good`` answers from: each date's manifest read the first time a
    question reaches it, and brought up to date as this process records steps.
    """

    def __init__(self, root: Path, *, simulated: bool = False) -> None:
        self.root = root
        self.simulated = simulated
        self._handles: dict[date, StoreDate] = {}
        self._lock = threading.Lock()

    def at(self, day: date) -> StoreDate:
        """The handle of ``day``: its folder, paths and manifest."""
        with self._lock:
            handle = self._handles.get(day)
            if handle is None:
                handle = self._handles[day] = StoreDate(self, day)
            return handle

    # paths
    def date_dir(self, day: date | str) -> Path:
        folder = self.root / str(day)
        if folder.is_symlink():
            raise StoreError(f"{folder}: is a symbolic link; a date folder must be a real folder")
        return folder

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
        return sorted(
            p.name
            for p in self.root.iterdir()
            if _DATE_DIR.match(p.name) and p.is_dir() and not p.is_symlink()
        )

    # a date's manifest through its handle, for callers that hold a date (or a folder's name)
    def read_manifest(self, day: date | str) -> dict[str, Any]:
        return self.at(_day(day)).manifest

    def record_step(self, day: date | str, tool: str, step: str, entry: dict[str, Any]) -> dict[str, Any]:
        return self.at(_day(day)).record_step(tool, step, entry)

    def record_report(self, day: date | str, report: dict[str, Any]) -> dict[str, Any]:
        return self.at(_day(day)).record_report(report)

    def record_run(self, day: date | str, run: dict[str, Any]) -> dict[str, Any]:
        return self.at(_day(day)).record_run(run)

    def is_simulated(self, day: date | str) -> bool:
        """Whether a simulated store (the demo) wrote anything of ``day``."""
        return self.at(_day(day)).simulated

    def step(self, day: date | str, tool: str, step: str) -> dict[str, Any] | None:
        return self.at(_day(day)).step(tool, step)

    def marked(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {**entry, "simulated": True} if self.simulated else entry

    def last_good(
        self,
        tool: str,
        step: str,
        *,
        before: date | None = None,
        statuses: tuple[str, ...] = ("ok",),
        simulated: bool | None = None,
    ) -> date | None:
        """The newest date (strictly before ``before``) where ``tool`` finished ``step`` with one of
        ``statuses`` (successfully, by default) with data of the same kind: simulated when
        ``simulated`` (by default: when this store is), else real."""
        wanted = self.simulated if simulated is None else simulated
        for name in reversed(self.dates()):
            day = date.fromisoformat(name)
            if before is not None and day >= before:
                continue
            entry = self.at(day).step(tool, step)
            if entry and entry.get("status") in statuses and bool(entry.get("simulated")) == wanted:
                return day
        return None


def _read_manifest(path: Path, day: date) -> dict[str, Any]:
    if not path.exists():
        return {"version": MANIFEST_VERSION, "date": str(day), "tools": {}, "runs": []}
    return read_json(path)


def _generation(lock: BinaryIO) -> int:
    """How many times the manifest beside ``lock`` was changed: kept in the lock file by every change."""
    lock.seek(0)
    text = lock.read(32).strip()
    return int(text) if text.isdigit() else 0


class StoreDate:
    """One date of a store: the date, its folder, its files' paths and its manifest.

    The manifest is read once and kept for the handle's life. Every change takes the date's manifest
    lock (threads and processes), brings the kept copy up to date there if another process changed the
    file since (a generation count in the lock file says so), changes it and writes it atomically: two
    processes recording steps on one date never lose each other's entries.
    """

    def __init__(self, store: Store, day: date) -> None:
        self.store = store
        self.day = day
        self._manifest: dict[str, Any] | None = None
        self._loading = threading.Lock()  # threads asking at once read the file once
        # What the kept manifest is: the lock file's generation and the file's identity when it was
        # last read or written (None: never read).
        self._seen: tuple[int, tuple[int, int, int] | None] | None = None

    def __str__(self) -> str:
        return self.day.isoformat()

    def __repr__(self) -> str:
        return f"StoreDate({self.store.root}, {self.day})"

    @property
    def folder(self) -> Path:
        return self.store.date_dir(self.day)

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    def raw_path(self, tool: str) -> Path:
        return self.folder / "raw" / f"{tool}.json"

    def processed_path(self, tool: str) -> Path:
        return self.folder / "processed" / f"{tool}.json"

    # the manifest
    @property
    def manifest(self) -> dict[str, Any]:
        """The date's manifest as this process last read or wrote it (read on first use). Never
        changed in place: a change replaces it, so a reader's copy stays whole."""
        manifest = self._manifest
        if manifest is None:
            with self._loading:
                manifest = self._manifest if self._manifest is not None else self.reload()
        return manifest

    def reload(self) -> dict[str, Any]:
        """The manifest read again: what other processes recorded since (an export, before it reads
        every tool's state of the date)."""
        # The generation before the file: a change in between makes them disagree at the next
        # change, which then reads the file again, never the other way round.
        generation = self._generation_now()
        identity = self._identity()
        manifest = _read_manifest(self.manifest_path, self.day)
        self._manifest, self._seen = manifest, (generation, identity)
        return manifest

    def _generation_now(self) -> int:
        try:
            with open(self.folder / ".manifest.lock", "rb") as lock:
                return _generation(lock)
        except FileNotFoundError:
            return 0

    def step(self, tool: str, step: str) -> dict[str, Any] | None:
        entry = self.manifest.get("tools", {}).get(tool, {}).get(step)
        return entry if isinstance(entry, dict) else None

    @property
    def simulated(self) -> bool:
        """Whether a simulated store (the demo) wrote anything of this date."""
        return bool(self.manifest.get("simulated"))

    def record_step(self, tool: str, step: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Merge one step's outcome for one tool into the date's manifest (threads and processes safe)."""
        entry = self.store.marked(entry)
        return self._update(lambda m: m["tools"].setdefault(tool, {}).__setitem__(step, entry))

    def record_report(self, report: dict[str, Any]) -> dict[str, Any]:
        report = self.store.marked(report)
        return self._update(lambda m: m.__setitem__("report", report))

    def record_run(self, run: dict[str, Any]) -> dict[str, Any]:
        run = self.store.marked(run)
        return self._update(lambda m: m.setdefault("runs", []).append(run))

    def finish_run(self, run_id: str, end: dict[str, Any]) -> dict[str, Any]:
        """Add ``end`` to the run record ``run_id`` that record_run wrote when the run started."""

        def change(manifest: dict[str, Any]) -> None:
            for run in manifest.setdefault("runs", []):
                if run.get("id") == run_id:
                    run.update(end)

        return self._update(change)

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.manifest_path, follow_symlinks=False)
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        folder = make_dirs(self.folder)
        lock_fd = open_private(folder / ".manifest.lock", os.O_RDWR | os.O_CREAT)
        with _manifest_lock, os.fdopen(lock_fd, "rb+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            generation = _generation(lock)
            if self._manifest is not None and self._seen == (generation, self._identity()):
                manifest = copy.deepcopy(self._manifest)
            else:
                manifest = _read_manifest(self.manifest_path, self.day)
            change(manifest)
            if self.store.simulated:
                manifest["simulated"] = True
            manifest["updated_at"] = now_iso()
            write_json(self.manifest_path, manifest)
            lock.seek(0)
            lock.write(str(generation + 1).encode())
            lock.truncate()
            lock.flush()
            self._manifest = manifest
            self._seen = (generation + 1, self._identity())
            return manifest
