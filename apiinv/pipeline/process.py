"""`apiinv process`: raw/TOOL.json to processed/TOOL.json, through the source's pure normalize.

Every record is validated against the packaged schema. Invalid ones are written to
processed/TOOL.rejects.json with their source id and reasons, and counted in the manifest; when their
share passes ``max_reject_share`` the step fails with exit 6. Records stream from normalize to the
file, so memory holds the raw document and one record at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiinv import memory, registry
from apiinv.config import Analysis, ToolConfig
from apiinv.errors import ApiInvError, DataValidationError, StoreError, tool_failure
from apiinv.inventory.records import problems
from apiinv.logs import get_logger
from apiinv.pipeline.collect import record_step_quietly
from apiinv.store import RECORDS_CLOSE, RECORDS_OPEN, StoreDate, now_iso, read_json, write_atomic, write_json

log = get_logger("process")
PROCESSED_VERSION = 1
Owners = Callable[[dict[str, Any]], str | None]


@dataclass
class ProcessOutcome:
    tool: str
    ok: bool
    records: int = 0
    rejected: int = 0
    duration: float = 0.0
    error: ApiInvError | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problem(self) -> ApiInvError | None:
        return self.error

    def summary(self) -> str:
        if self.error is not None:
            return f"{self.tool}: FAILED: {self.error.message} [{self.error.code} {self.error.error_id}]"
        rejected = (
            f", {self.rejected:,} rejected (see processed/{self.tool}.rejects.json)" if self.rejected else ""
        )
        return f"{self.tool}: ok: {self.records:,} records{rejected} ({self.duration:.1f}s)"


def _stream(
    records: Iterator[dict[str, Any]], header: dict[str, Any], outcome: ProcessOutcome, owners: Owners | None
) -> Iterator[bytes]:
    """The processed document as chunks, validating each record on its way out."""
    head = orjson.dumps(header)
    yield head[:-1] + RECORDS_OPEN  # one record per line: read back one at a time (store.read_records)
    first = True
    batch: list[bytes] = []
    for record in records:
        if owners is not None and record["owner"] is None:
            record["owner"] = owners(record)
        reasons = problems(record)
        if reasons:
            outcome.rejected += 1
            if len(outcome.rejects) < 10_000:
                outcome.rejects.append(
                    {
                        "source_id": record.get("api_id"),
                        "endpoint_key": record.get("endpoint_key"),
                        "reasons": reasons,
                    }
                )
            continue
        outcome.records += 1
        batch.append(orjson.dumps(record))
        if len(batch) >= 2048:
            yield (b"" if first else b",\n") + b",\n".join(batch)
            first, batch = False, []
    if batch:
        yield (b"" if first else b",\n") + b",\n".join(batch)
    yield b"\n" + RECORDS_CLOSE


def _check_shape(raw: Any, shape: Mapping[str, type], tool: str) -> None:
    """A raw file that lost its structure is refused; one that merely lacks fields is normalized."""
    data = raw.get("data") if isinstance(raw, dict) else None
    wrong = [key for key, kind in shape.items() if not isinstance((data or {}).get(key), kind)]
    if not isinstance(data, dict) or wrong:
        kind = raw.get("type") if isinstance(raw, dict) else "?"
        raise DataValidationError(
            f"raw file does not have the shape of a {kind} inventory "
            f"(data.{', data.'.join(wrong) or '(all)'} missing or of the wrong type)",
            tool=tool,
        )


def process_tool(
    tool: ToolConfig, day: StoreDate, analysis: Analysis, *, owners: Owners | None = None
) -> ProcessOutcome:
    started_at, started = now_iso(), time.monotonic()
    outcome = ProcessOutcome(tool.name, False)
    try:
        raw_path = day.raw_path(tool.name)
        if not raw_path.exists():
            raise StoreError(f"no raw file for {day} ({raw_path}); run collect first", tool=tool.name)
        raw = read_json(raw_path)
        collected_as = raw.get("type") or tool.type  # tools.yaml may have changed since
        source = tool.source if collected_as == tool.type else registry.load(collected_as)
        _check_shape(raw, source.raw_shape, tool.name)
        header = {
            "schema_version": PROCESSED_VERSION,
            "tool": tool.name,
            "type": raw.get("type"),
            "date": str(day),
            "processed_at": now_iso(),
            "collected_at": raw.get("collected_at"),
        }
        try:
            write_atomic(
                day.processed_path(tool.name), _stream(source.normalize(raw), header, outcome, owners)
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise DataValidationError(
                f"raw file does not have the shape of a {raw.get('type')} inventory: "
                f"{type(exc).__name__}: {str(exc)[:120]}",
                tool=tool.name,
            ) from None
        rejects_path = day.processed_path(f"{tool.name}.rejects")
        if outcome.rejects:
            write_json(
                rejects_path,
                {
                    "tool": tool.name,
                    "date": str(day),
                    "rejected": outcome.rejected,
                    "rejects": outcome.rejects,
                },
            )
        else:
            rejects_path.unlink(missing_ok=True)
        total = outcome.records + outcome.rejected
        share = outcome.rejected / total if total else 0.0
        if share > analysis.max_reject_share:
            raise DataValidationError(
                f"{outcome.rejected:,} of {total:,} records invalid ({share:.1%}, more than "
                f"max_reject_share {analysis.max_reject_share:.0%}); see {rejects_path}",
                tool=tool.name,
            )
        outcome.ok = True
    except Exception as caught:
        failure = tool_failure(caught, tool.name, "process")
        outcome.error = failure
        log.error(
            "%s",
            failure.message,
            exc_info=None if caught is failure else caught,
            extra={"tool": tool.name, "error_id": failure.error_id, "file_only": True},
        )
    outcome.duration = time.monotonic() - started
    status = (
        "ok" if outcome.ok else ("invalid" if isinstance(outcome.error, DataValidationError) else "failed")
    )
    record_step_quietly(
        day,
        tool.name,
        "process",
        {
            "status": status,
            "type": tool.type,
            "role": tool.role,
            "started_at": started_at,
            "finished_at": now_iso(),
            "duration_s": round(outcome.duration, 3),
            "records": outcome.records,
            "rejected": outcome.rejected,
            "errors": [outcome.error.as_record()] if outcome.error else [],
        },
    )
    return outcome


def process(
    tools: list[ToolConfig],
    day: StoreDate,
    analysis: Analysis,
    *,
    owners: Owners | None = None,
    workers: int | None = None,
    on_done: Callable[[ProcessOutcome], None] | None = None,
) -> list[ProcessOutcome]:
    def one(tool: ToolConfig) -> ProcessOutcome:
        outcome = process_tool(tool, day, analysis, owners=owners)
        if on_done:
            on_done(outcome)
        return outcome

    # One tool at a time unless asked: normalizing holds the GIL, so tools side by side are no faster,
    # and each holds its whole raw document, so they only add up in memory.
    with (
        memory.full_collections_held(),
        ThreadPoolExecutor(
            max_workers=max(1, min(len(tools), workers or 1)), thread_name_prefix="process"
        ) as pool,
    ):
        return list(pool.map(one, tools))
