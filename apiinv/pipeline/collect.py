"""`apiinv collect`: fetch each tool's inventory into output/DATE/raw/TOOL.json.

Tools run in parallel in a worker pool; inside a tool, independent per-item requests (per API, per
revision) go through a second pool of that tool's own (``--workers`` wide), all under the tool's one
rate limiter. A tool that fails is recorded in the manifest and keeps whatever raw file the date
already had; the others finish and are written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import orjson

from apiinv import memory
from apiinv.config import ToolConfig
from apiinv.errors import (
    ApiInvError,
    ItemsFailedError,
    MalformedResponseError,
    StoreError,
    TruncatedError,
    tool_failure,
)
from apiinv.http.client import HttpClient
from apiinv.logs import get_logger
from apiinv.redact import redact_url
from apiinv.sources.base import FetchContext
from apiinv.store import StoreDate, now_iso, read_json, write_json

log = get_logger("collect")
RAW_VERSION = 1
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class ToolOutcome:
    tool: str
    ok: bool
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    error: ApiInvError | None = None
    kept_previous: bool = False
    warnings: list[str] = field(default_factory=list)
    failed_items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.ok:
            return "partial" if self.failed_items else "ok"
        return "truncated" if isinstance(self.error, TruncatedError) else "failed"

    @cached_property
    def problem(self) -> ApiInvError | None:
        """What keeps the tool from ``ok``: its error, or the items that failed on their own."""
        if self.error is not None or not self.failed_items:
            return self.error
        kept = sum(1 for item in self.failed_items if item.get("kept_from"))
        first = self.failed_items[0]
        return ItemsFailedError(
            f"{len(self.failed_items):,} item(s) failed after retries ({kept:,} kept from their last good "
            f"collection, the rest left out), first {first['listing']} {first['item']}: {first['reason']}",
            tool=self.tool,
        )

    def summary(self) -> str:
        if not self.ok:
            kept = "; the earlier raw file of this date is kept" if self.kept_previous else ""
            assert self.error is not None
            error = self.error
            return (
                f"{self.tool}: {self.status.upper()}: {error.message} [{error.code} {error.error_id}]{kept}"
            )
        counts = ", ".join(f"{v:,} {k}" for k, v in self.counts.items())
        requests = self.stats.get("requests", 0)
        cached = self.stats.get("cache_hits", 0)
        cache_note = f", {cached:,} from cache" if cached else ""
        revalidated = self.stats.get("revalidated", 0)
        if revalidated:
            cache_note += f", {revalidated:,} unchanged (304)"
        reused = self.stats.get("reused", 0)
        if reused:
            cache_note += f", {reused:,} reused from {self.stats.get('reused_from')}"
        retries = self.stats.get("retries", 0)
        retry_note = f", {retries} retries" if retries else ""
        failed = f"; {len(self.failed_items):,} item(s) failed, see the manifest" if self.failed_items else ""
        return (
            f"{self.tool}: {self.status}: {counts} "
            f"({requests:,} requests{cache_note}{retry_note}, {self.duration:.1f}s){failed}"
        )


def scope(tool: ToolConfig) -> str:
    """What makes two collections of a tool comparable: its vendor, URL and settings (hashed)."""
    described = {"type": tool.type, "base_url": redact_url(tool.base_url), "settings": tool.settings}
    return hashlib.sha256(orjson.dumps(described, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:16]


def previous_collection(
    day: StoreDate, tool: ToolConfig, texts: dict[str, str]
) -> tuple[StoreDate | None, dict[str, Any] | None]:
    """(date, data) of the tool's last complete collection before ``day`` with the same scope, for an
    incremental crawl; (None, None) when there is none or it cannot be read (then the crawl is full).
    Its string values go into ``texts`` (memory.share_texts), shared with the new answers'; the values
    the source passes on verbatim are held as their JSON text."""
    # A partial collection is whole but for its failed items, which are never reused from it.
    earlier_day = day.store.last_good(tool.name, "collect", before=day.day, statuses=("ok", "partial"))
    if earlier_day is None:
        return None, None
    earlier = day.store.at(earlier_day)
    verbatim = tool.source.verbatim

    def held_as_text(keys: tuple[str, ...], item: Any) -> Any:
        # Each item as its line is read: its bulk is never held parsed, not even the whole file at once.
        if len(keys) == 2 and keys[0] == "data" and isinstance(item, dict):
            for key in verbatim.get(keys[1], ()):
                if isinstance(item.get(key), dict | list):
                    item[key] = memory.as_raw_json(item[key])
        return item

    try:
        raw = read_json(earlier.raw_path(tool.name), held_as_text if verbatim else None)
    except (StoreError, OSError, ValueError) as exc:
        log.warning(
            "the raw file of %s is unreadable (%s): a full crawl", earlier, exc, extra={"tool": tool.name}
        )
        return None, None
    if not isinstance(raw, dict) or raw.get("scope") != scope(tool) or not isinstance(raw.get("data"), dict):
        return None, None
    return earlier, memory.share_texts(raw["data"], texts)


def collect_tool(
    tool: ToolConfig,
    day: StoreDate,
    *,
    workers: int | None = None,
    use_cache: bool = True,
    refresh: bool = False,
    full: bool = False,
) -> ToolOutcome:
    """Collect one tool into its raw file. Unless ``full``, items that the tool's last complete
    collection already holds and the listings say are unchanged are reused, not fetched."""
    started_at, started = now_iso(), time.monotonic()
    raw_path = day.raw_path(tool.name)
    client: HttpClient | None = None
    pool_size = workers or tool.concurrency
    reused_from: StoreDate | None = None
    texts: dict[str, str] = {}  # the equal strings of the last collection and of the new answers, once
    try:
        tool.require_ready()
        previous = None
        if tool.source.incremental:
            # Also on a full crawl: what stands in for an item whose own call fails.
            reused_from, previous = previous_collection(day, tool, texts)
        failed_before = _failed_items_of(reused_from, tool.name)
        client = HttpClient(
            tool,
            cache_dir=day.store.cache_dir if use_cache else None,
            cache_namespace=str(day),
            refresh=refresh,
            pool_size=pool_size + 2,
            private_paths=tool.source.private_paths,
            texts=texts,
        )
        with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix=f"{tool.name}-req") as pool:
            context = FetchContext(
                client,
                tool,
                pool,
                previous=None if full else previous,
                fallback=previous,
                previous_date=str(reused_from) if reused_from else None,
                failed_before=failed_before,
            )
            try:
                data = tool.source.fetch(context)
            except ApiInvError:
                raise
            except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
                log.debug("unexpected response shape", exc_info=True, extra={"tool": tool.name})
                raise MalformedResponseError(
                    f"unexpected response shape: {type(exc).__name__}: {str(exc)[:120]}", tool=tool.name
                ) from None
        if client.stats.truncated:
            stopped = sorted(set(client.stats.truncated))
            at_cap = any("page cap" in listing for listing in stopped)
            raise TruncatedError(
                f"listing {', '.join(stopped)} stopped before its end: the inventory would be incomplete, "
                "so it is not written" + (f"; raise max_pages ({tool.max_pages:,})" if at_cap else ""),
                tool=tool.name,
            )
        # The previous collection is needed only while fetching: let it go before the new one is written.
        context.previous = context.fallback = previous = None
        texts.clear()
        counts = tool.source.counts(data)
        stats = {
            **client.stats.as_dict(),
            "reused": context.reused,
            "reused_from": None if full or reused_from is None else str(reused_from),
        }
        data = tool.source.scrub(data)  # third-party secrets a vendor returned never reach our files
        write_json(
            raw_path,
            {
                "schema_version": RAW_VERSION,
                "tool": tool.name,
                "type": tool.type,
                "date": str(day),
                "collected_at": now_iso(),
                "source": {"base_url": redact_url(tool.base_url), "auth_type": tool.auth_type},
                "scope": scope(tool),
                "requests": stats,
                "counts": counts,
                "data": data,
            },
        )
        outcome = ToolOutcome(tool.name, True, counts, stats, time.monotonic() - started)
        outcome.warnings = context.warnings
        outcome.failed_items = context.failed_items
    except Exception as caught:
        failure = tool_failure(caught, tool.name, "collect")
        outcome = ToolOutcome(
            tool.name,
            False,
            stats=client.stats.as_dict() if client else {},
            duration=time.monotonic() - started,
            error=failure,
            kept_previous=raw_path.exists(),
        )
        log.error(
            "%s",
            failure.message,
            exc_info=None if caught is failure else caught,
            extra={"tool": tool.name, "error_id": failure.error_id, "code": failure.code, "file_only": True},
        )
    finally:
        if client is not None:
            client.close()
    record_step_quietly(
        day,
        tool.name,
        "collect",
        {
            "status": outcome.status,
            "type": tool.type,
            "role": tool.role,
            "started_at": started_at,
            "finished_at": now_iso(),
            "duration_s": round(outcome.duration, 3),
            "counts": outcome.counts,
            **outcome.stats,
            "errors": [outcome.problem.as_record()] if outcome.problem else [],
            "warnings": outcome.warnings,
            "failed_items": outcome.failed_items,
            "kept_previous_raw": outcome.kept_previous,
        },
    )
    return outcome


def _failed_items_of(day: StoreDate | None, tool: str) -> frozenset[tuple[str, str]]:
    """The (listing, item) pairs that failed in the tool's collection of ``day``."""
    if day is None:
        return frozenset()
    try:
        entry = day.step(tool, "collect") or {}
    except StoreError:
        return frozenset()
    return frozenset(
        (str(item.get("listing")), str(item.get("item")))
        for item in entry.get("failed_items") or []
        if isinstance(item, dict)
    )


def record_step_quietly(day: StoreDate, tool: str, step: str, entry: dict[str, Any]) -> None:
    """The manifest entry of one tool's step; a manifest that cannot be written (full disk, or anything
    else) is logged and must not turn one tool's outcome into a crash of the whole run."""
    try:
        day.record_step(tool, step, entry)
    except Exception as caught:
        failure = tool_failure(caught, tool, step)
        log.error(
            "%s (manifest not updated)",
            failure.message,
            exc_info=None if caught is failure else caught,
            extra={"tool": tool, "error_id": failure.error_id},
        )


def collect(
    tools: list[ToolConfig],
    day: StoreDate,
    *,
    workers: int | None = None,
    use_cache: bool = True,
    refresh: bool = False,
    full: bool = False,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[ToolOutcome], None] | None = None,
) -> list[ToolOutcome]:
    """Collect every tool, in parallel; outcomes in the order the tools were given."""

    def one(tool: ToolConfig) -> ToolOutcome:
        if on_start:
            on_start(tool.name)
        outcome = collect_tool(tool, day, workers=workers, use_cache=use_cache, refresh=refresh, full=full)
        if on_done:
            on_done(outcome)
        return outcome

    # Tools are independent vendors with their own rate limits: they always run side by side.
    with (
        memory.full_collections_held(),
        ThreadPoolExecutor(max_workers=max(1, min(len(tools), 16)), thread_name_prefix="collect") as pool,
    ):
        return list(pool.map(one, tools))
