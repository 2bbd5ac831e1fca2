"""A run's metrics for Prometheus, through node_exporter's textfile collector: one file in the text
exposition format, replaced whole at the end of each run (``metrics_file`` in planner.yaml, or
``apiinv run --metrics-file``). docs/monitoring.md lists every metric; a test holds the two together.

prometheus_client is imported only here, and only when a run writes metrics: start-up time matters."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apiinv.console import Console
from apiinv.errors import RunLockHeldError, exit_status_for, os_reason
from apiinv.logs import get_logger
from apiinv.store import Store

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from apiinv.pipeline.run import RunResult

log = get_logger("metrics")

# node_exporter runs as a user of its own and must read the file; it holds names and numbers only.
FILE_MODE = 0o644
TOOL_STATUSES = ("ok", "partial", "truncated", "failed", "not_run")  # a tool's status in the report
INTERRUPTED = 130  # the exit status of a run stopped by Ctrl-C or SIGINT, as the command wrapper exits


@dataclass
class RunRecord:
    """What the metrics of one run are made of; the caller fills in ``result`` and ``exit_status``."""

    schedule: str | None
    tools: list[str]
    result: RunResult | None = None
    exit_status: int = 1
    started: float = field(default_factory=time.monotonic)


def metrics_path(
    option: Path | None, configured: str | None, config_dir: Path, schedule: str | None
) -> Path | None:
    """Where the run's metrics go: ``--metrics-file``, else the planner's ``metrics_file`` (relative to
    the configuration folder); ``{schedule}`` in it becomes the schedule's name (``run`` outside one), so
    that one ``defaults`` entry gives each schedule a file of its own."""
    from apiinv.config.load import _under

    chosen = option if option is not None else _under(config_dir, configured) if configured else None
    if chosen is None:
        return None
    return Path(str(chosen).replace("{schedule}", schedule or "run"))


@contextlib.contextmanager
def recording(path: Path | None, store: Store, record: RunRecord, console: Console) -> Iterator[RunRecord]:
    """Write the run's metrics when it ends, however it ends (an error, Ctrl-C); a run that never
    started because another holds its lock writes nothing: that other run writes them."""
    try:
        yield record
    except RunLockHeldError:
        path = None
        raise
    except BaseException as exc:
        record.exit_status = INTERRUPTED if isinstance(exc, KeyboardInterrupt) else exit_status_for(exc)
        raise
    finally:
        if path is not None:
            write_quietly(path, store, record, console)


def write_quietly(path: Path, store: Store, record: RunRecord, console: Console) -> None:
    """Write the metrics; a failure is a warning and never changes the run's exit status."""
    try:
        write(path, registry_for(store, record))
    except Exception as exc:
        reason = os_reason(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        log.warning("metrics not written to %s: %s", path, reason, exc_info=not isinstance(exc, OSError))
        console.problem(f"metrics: not written to {path}: {reason}")


def write(path: Path, registry: CollectorRegistry) -> None:
    """Atomically (a temporary file beside it, renamed: node_exporter never reads half a file), readable
    by node_exporter. prometheus_client creates the file under the umask (077 under cron: 0600), hence
    the chmod; the temporary's name does not end in .prom, so node_exporter never reads it."""
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), registry)
    os.chmod(path, FILE_MODE)


# name -> (HELP text, labels besides ``schedule``). Each is a gauge of the last run that wrote the file.
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    "apiinv_run_exit_status": (
        "Exit status of the last run: 0 ok, 5 partial, 4 every tool failed, 6 invalid data, 1 error.",
        (),
    ),
    "apiinv_run_duration_seconds": ("How long the last run took.", ()),
    "apiinv_run_finished_timestamp_seconds": ("When the last run ended, in Unix time.", ()),
    "apiinv_tool_status": (
        "1 for the tool's status in the last run (ok, partial, truncated, failed, not_run), else 0.",
        ("tool", "status"),
    ),
    "apiinv_tool_records": (
        "The tool's records in the last run's report (its processed records when the run exported nothing).",
        ("tool",),
    ),
    "apiinv_tool_requests": (
        "HTTP requests of the tool's collection in the last run, answers from the cache included.",
        ("tool",),
    ),
    "apiinv_tool_retries": ("Requests the tool's collection retried in the last run.", ("tool",)),
    "apiinv_tool_duration_seconds": (
        "How long the tool's collection and processing took in the last run.",
        ("tool",),
    ),
    "apiinv_tool_last_success_timestamp_seconds": (
        "When the tool's last complete collection (status ok) ended, in Unix time, whichever run it was.",
        ("tool",),
    ),
    "apiinv_tool_data_date_timestamp_seconds": (
        "The date of the tool's data in the last run's report (00:00 UTC, Unix time): "
        "older than the run date when its last complete data stands in.",
        ("tool",),
    ),
    "apiinv_findings": ("Endpoints with each finding in the last run's combined report.", ("finding",)),
}


def registry_for(store: Store, record: RunRecord) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    gauges = {
        name: Gauge(name, text, ["schedule", *labels], registry=registry)
        for name, (text, labels) in METRICS.items()
    }

    def put(name: str, value: float, **labels: str) -> None:
        gauges[name].labels(schedule=record.schedule or "", **labels).set(value)

    put("apiinv_run_exit_status", record.exit_status)
    put("apiinv_run_duration_seconds", time.monotonic() - record.started)
    put("apiinv_run_finished_timestamp_seconds", time.time())
    result = record.result
    summary = result.exported.data.summary() if result and result.exported and result.exported.data else None
    for tool in record.tools:
        finished = _last_success(store, tool)
        if finished is not None:
            put("apiinv_tool_last_success_timestamp_seconds", finished, tool=tool)
        if result is not None:
            _tool_metrics(put, result, summary, tool)
    for finding, count in (summary["findings"] if summary else {}).items():
        put("apiinv_findings", count, finding=finding)
    return registry


def _tool_metrics(
    put: Callable[..., None], result: RunResult, summary: dict[str, Any] | None, tool: str
) -> None:
    """A tool's metrics from this run's steps, each only when the run did the step that gives it."""
    state, data_date = result.tool_state(tool)
    for status in TOOL_STATUSES:
        put("apiinv_tool_status", 1 if status == state else 0, tool=tool, status=status)
    if data_date is not None:
        midnight = datetime.combine(date.fromisoformat(data_date), datetime.min.time(), UTC)
        put("apiinv_tool_data_date_timestamp_seconds", midnight.timestamp(), tool=tool)
    collected = [o for o in result.collected if o.tool == tool]
    processed = [o for o in result.processed if o.tool == tool]
    for collection in collected:
        put("apiinv_tool_requests", collection.stats.get("requests", 0), tool=tool)
        put("apiinv_tool_retries", collection.stats.get("retries", 0), tool=tool)
    if collected or processed:
        seconds = sum(o.duration for o in collected) + sum(o.duration for o in processed)
        put("apiinv_tool_duration_seconds", seconds, tool=tool)
    if summary is not None and tool in summary["records"]:
        put("apiinv_tool_records", summary["records"][tool], tool=tool)
    elif summary is None:
        for processing in (o for o in processed if o.ok):
            put("apiinv_tool_records", processing.records, tool=tool)


def _last_success(store: Store, tool: str) -> float | None:
    day = store.last_good(tool, "collect")
    finished = (store.at(day).step(tool, "collect") or {}).get("finished_at") if day else None
    return datetime.fromisoformat(finished).timestamp() if finished else None
