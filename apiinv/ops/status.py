"""`apiinv status`: what the runs of a date did, from its manifest; and the last run of each schedule."""

from __future__ import annotations

from datetime import date
from typing import Any

from apiinv.errors import UsageError
from apiinv.ops import locks
from apiinv.redact import printable
from apiinv.store import Store

STEPS = ("collect", "process", "export")


def state(store: Store, run: dict[str, Any]) -> str:
    """finished; running while the run's process still holds its run lock; else killed (the record of a
    run that never ended: the kernel freed its lock when it died)."""
    if "finished_at" in run:
        return "finished"
    lock = run.get("lock")
    held_by = locks.holder(store.lock_dir, lock) if lock else None
    return "running" if held_by is not None and held_by == str(run.get("pid")) else "killed"


def report(store: Store, day: date | None = None) -> dict[str, Any]:
    dates = store.dates()
    if not dates:
        raise UsageError(f"no runs yet in {store.root}")
    if day is None:
        day = date.fromisoformat(dates[-1])
    elif str(day) not in dates:
        raise UsageError(f"no run on {day} in {store.root} (dates: {dates[0]} to {dates[-1]})")
    manifest = store.at(day).manifest
    last_runs: dict[str, dict[str, Any]] = {}
    for earlier in reversed(dates):
        for run in reversed(store.at(date.fromisoformat(earlier)).manifest.get("runs") or []):
            name = run.get("schedule") or "(by hand)"
            if name not in last_runs:
                last_runs[name] = {**run, "date": earlier, "state": state(store, run)}
    return {
        "date": str(day),
        "tools": manifest.get("tools", {}),
        "runs": [{**run, "state": state(store, run)} for run in manifest.get("runs") or []],
        "report": manifest.get("report"),
        "last_runs": last_runs,
    }


def render_text(status: dict[str, Any]) -> str:
    """The status as lines for people: each one line, whatever the vendors' error texts it replays hold;
    columns as wide as their longest value (at least the usual width, so short names keep one layout)."""
    rows = [("tool", "step", "status", "seconds", "details")]
    for tool, steps in sorted(status["tools"].items()):
        for step in STEPS:
            entry = steps.get(step)
            if not entry:
                continue
            counts = entry.get("counts") or {k: entry[k] for k in ("records", "rejected") if k in entry}
            details = ", ".join(f"{v:,} {k}" for k, v in counts.items())
            if entry.get("requests"):
                details += f"; {entry['requests']:,} requests, {entry.get('cache_hits', 0):,} from cache"
            for error in entry.get("errors") or []:
                details += f"; {error['code']} {error['id']}: {error['message']}"
            rows.append((tool, step, entry.get("status", "?"), f"{entry.get('duration_s', 0):.1f}", details))
    tool_w, step_w, status_w, seconds_w = (
        max(minimum, *(len(row[i]) for row in rows)) for i, minimum in enumerate((10, 8, 8, 8))
    )
    lines = [f"date {status['date']}"] + [
        f"{tool:{tool_w}} {step:{step_w}} {state:{status_w}} {seconds:>{seconds_w}}  {details}"
        for tool, step, state, seconds, details in rows
    ]
    if status["report"]:
        lines.append(f"report: {status['report'].get('workbook')} ({status['report'].get('generated_at')})")
    if status["last_runs"]:
        lines.append("last run of each schedule:")
        runs = sorted(status["last_runs"].items())
        name_w = max(20, *(len(name) for name, _ in runs))
        action_w = max(16, *(len(run.get("action", "?")) for _, run in runs))
        for name, run in runs:
            lines.append(
                f"  {name:{name_w}} {run['date']} {run.get('action', '?'):{action_w}} {_outcome(run)}"
            )
    return "\n".join(printable(line) for line in lines)


def _outcome(run: dict[str, Any]) -> str:
    if run["state"] == "running":
        return f"running since {run.get('started_at')} (pid {run.get('pid')})"
    if run["state"] == "killed":
        return f"KILLED: started {run.get('started_at')} (pid {run.get('pid')}), never ended"
    return f"exit {run.get('exit_status')} ({run.get('started_at')} to {run.get('finished_at')})"
