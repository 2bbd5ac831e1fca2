"""The source contract: what every tool adapter is, so that the registry (``apiinv.registry``), the
configuration's checks, the merge's roles and the sandbox derive from one place.

A source is a module (in ``apiinv/sources/`` or a third-party package registered under the
``apiinv.sources`` entry-point group: ``[project.entry-points."apiinv.sources"] salt = "apiinv_salt"``)
that exports one ``SOURCE = Source(...)``, whose ``name`` is its tool type (the entry point's name).
The registry resolves a tool's type to that object once, when the configuration is read: each
``ToolConfig`` carries its ``source`` and its ``role``. A ``Source`` holds:

- ``name``: the tool type (``type:`` in tools.yaml, and a tool's name when it gives none);
- ``role``: what its data says about an endpoint: ``gateway`` (it serves it), ``spec`` (it is
  documented and audited there) or ``traffic`` (it was seen being called); None when each tool
  chooses its own in a ``role`` setting (the ``rest`` source; see ``Source.role_for``);
- ``defaults``: the tools.yaml values its vendor implies (auth kind, key header, page size, ...);
- ``raw_shape``: the top-level keys (and their types) of the raw document ``fetch`` returns;
- ``check(client, tool) -> str``: one cheap authenticated call, for ``apiinv tools --check``;
- ``fetch(ctx) -> dict``: the raw inventory, through ``ctx.client`` with independent requests on
  ``ctx.map`` (a ``FetchContext``, below);
- ``counts(raw) -> dict[str, int]``: what the raw document holds, for people and the manifest;
- ``normalize(raw) -> Iterator[record]``: pure, raw document to inventory records;
- ``settings_schema`` (default none): JSON Schema ``properties`` of its own tools.yaml keys, checked by
  validate-config (any other key that is not common to every tool is an unknown key);
- ``base_url`` (default True): whether it needs ``api_base_url`` (a source reading files does not);
- ``path_settings`` (default none): settings that list files, made relative to the configuration folder;
- ``required_settings`` (default none): settings without which it cannot collect (Apigee's organization);
- ``incremental`` (default False): ``fetch`` reuses items of ``ctx.previous`` that the listings say
  are unchanged (immutable revisions, documents whose revision counter, audit date or bytes are the
  same), each through ``ctx.reusing``;
- ``verbatim`` (default none): per listing (a list in the raw document's data), the keys of its items
  whose values ``fetch`` passes on as they are, never looking into them (42Crunch's specs and reports):
  an incremental collect reads them from the last collection as their JSON text (``memory.RawJson``);
- ``scrub(raw) -> raw`` (default: unchanged): third-party secrets masked before the raw file is written;
- ``private_paths`` (default none): regular expressions of the paths whose answers hold such secrets,
  never stored in the HTTP cache;
- ``settings_problems(settings) -> list[str]`` (default: none): what validate-config says of its own
  settings, as ``key: problem``;
- ``simulator`` (default none): the module of its simulator, whose ``Simulator`` class (see
  ``apiinv.sandbox.common``) the sandbox, the demo and the tests pick up; every source with one gets the
  shared conformance tests (``tests/sources/test_conformance.py``) for free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from apiinv.errors import CollectionError, is_item_fault
from apiinv.logs import get_logger

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

log = get_logger("sources")
ROLES = ("gateway", "spec", "traffic")
T = TypeVar("T")
R = TypeVar("R")


Raw = dict[str, Any]


def _no_problems(settings: dict[str, Any]) -> list[str]:
    return []


def _unchanged(raw: Raw) -> Raw:
    return raw


@dataclass(frozen=True)
class Source:
    """One tool type: see the module's docstring for what each part means."""

    name: str
    role: str | None
    defaults: Mapping[str, Any]
    raw_shape: Mapping[str, type]
    check: Callable[[HttpClient, ToolConfig], str]
    fetch: Callable[[FetchContext], Raw]
    counts: Callable[[Raw], dict[str, int]]
    normalize: Callable[[Raw], Iterator[dict[str, Any]]]
    settings_schema: Mapping[str, Any] = field(default_factory=dict)
    base_url: bool = True
    path_settings: tuple[str, ...] = ()
    required_settings: tuple[str, ...] = ()
    incremental: bool = False
    verbatim: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scrub: Callable[[Raw], Raw] = _unchanged
    # Paths (regular expressions, searched) whose answers hold other systems' secrets: never stored in
    # the HTTP cache, since ``scrub`` masks only what is written to the raw file.
    private_paths: tuple[str, ...] = ()
    settings_problems: Callable[[dict[str, Any]], list[str]] = _no_problems
    simulator: str | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"source {self.name!r}: role {self.role!r} is none of {', '.join(ROLES)}")
        if self.role is None and "role" not in self.settings_schema:
            raise ValueError(f"source {self.name!r}: with no role of its own, its tools need a role setting")

    def role_for(self, settings: Mapping[str, Any]) -> str:
        """A configured tool's role: the one this source declares, else what its settings choose."""
        return self.role or str(settings.get("role") or "other")


def kept_since(kept: Any, previous_date: str | None) -> str | None:
    """The date of what stands in for a failed item: its own ``kept_from`` label when it already stood
    in last time (the data is that old), else the previous collection's date; None when nothing does."""
    if kept is None:
        return None
    label = kept.get("kept_from") if isinstance(kept, dict) else None
    return label if isinstance(label, str) else previous_date


class _Task(Generic[T, R]):
    """One item of a ``FetchContext.map``: run once, by whichever thread claims it first."""

    def __init__(self, fn: Callable[[T], R], item: T, stop: threading.Event) -> None:
        self._fn, self._item, self._stop = fn, item, stop
        self._claimed = threading.Lock()
        self._done = threading.Event()
        self._value: R | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        if not self._claimed.acquire(blocking=False):
            return  # another thread has it
        try:
            if self._stop.is_set():
                self._error = _Skipped()
            else:
                self._value = self._fn(self._item)
        except BaseException as caught:
            self._error = caught
            self._stop.set()  # the first error: items not started yet are not started
        finally:
            self._done.set()

    def result(self) -> R:
        self._done.wait()
        if self._error is not None and not isinstance(self._error, _Skipped):
            raise self._error
        return self._value  # type: ignore[return-value]


class _Skipped(Exception):
    """An item left undone because an earlier one failed."""


@dataclass
class FetchContext:
    """What a source's ``fetch`` gets: the tool's client and settings, and its request pool."""

    client: HttpClient
    tool: ToolConfig
    pool: ThreadPoolExecutor
    warnings: list[str] = field(default_factory=list)
    # The data of the tool's last complete collection (same vendor, URL and settings), or None for a
    # full crawl; ``reused`` counts the requests its items saved.
    previous: dict[str, Any] | None = None
    reused: int = 0
    # That same data on a full crawl too: what stands in for an item whose own call fails.
    fallback: dict[str, Any] | None = None
    # Items whose own calls failed after retries (see ``per_item``); and those of the last collection,
    # as (listing, item) pairs, asked for first and never reused from it.
    failed_items: list[dict[str, Any]] = field(default_factory=list)
    failed_before: frozenset[tuple[str, str]] = frozenset()
    # The date of ``previous`` (or, on a full crawl, of the data kept for a failed item).
    previous_date: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def per_item(self, listing: str, item: str, call: Callable[[], R], *, kept: R | None = None) -> R | None:
        """``call()``, the request(s) of one item of ``listing``; when it fails after retries for a reason
        that is the item's own (``errors.is_item_fault``), the tool goes on: the item is named in
        ``failed_items`` and ``kept`` (its data from the last good collection, or None) stands in."""
        try:
            return call()
        except CollectionError as exc:
            if not is_item_fault(exc):
                raise
            entry = {
                "listing": listing,
                "item": item,
                "code": exc.code,
                "reason": exc.message,
                "kept_from": kept_since(kept, self.previous_date),
            }
            with self._lock:
                self.failed_items.append(entry)
            log.warning(
                "%s %s failed (%s); %s",
                listing,
                item,
                exc.message,
                f"its data of {entry['kept_from']} stands in" if kept is not None else "left out this run",
                extra={"tool": self.tool.name},
            )
            return kept

    def may_reuse(self, listing: str, item: str) -> bool:
        """Whether ``item`` of ``listing`` may be taken from the previous collection: not when it failed
        there (what stands in for it is old data, asked for again until it comes)."""
        return (listing, item) not in self.failed_before

    def failed_first(self, listing: str, items: list[T], key: Callable[[T], str]) -> list[T]:
        """``items`` with those that failed last time first: the ones most worth the run's time."""
        if not self.failed_before:
            return items
        return sorted(items, key=lambda item: (listing, key(item)) not in self.failed_before)

    def reusing(self, item: T) -> T:
        """``item`` taken from the previous collection instead of fetched again (counted)."""
        with self._lock:
            self.reused += 1
        return item

    def warn(self, message: str) -> None:
        """Something a person should know that does not fail the tool: logged, and in the manifest."""
        self.warnings.append(message)
        log.warning("%s", message, extra={"tool": self.tool.name})

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` in the tool's pool; results in order; the first error stops the rest.

        The caller takes part: it runs every item no worker has started yet, and then waits only for
        items running on other threads. So a ``map`` inside a ``map`` (a listing fetched for each item of
        another) never waits for a task that only a busy worker could start: it finishes with one
        worker as with many."""
        stop = threading.Event()
        tasks = [_Task(fn, item, stop) for item in items]
        for task in tasks[1:]:
            self.pool.submit(task.run)
        for task in tasks:
            task.run()
        return [task.result() for task in tasks]

    def get_json_or_none(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """A per-item document that may have been deleted since it was listed: None on 404."""
        try:
            return self.client.get_json(path, params=params)
        except CollectionError as exc:
            if exc.context.get("status") == 404:
                log.warning("%s vanished during the crawl (404)", path, extra={"tool": self.tool.name})
                return None
            raise
