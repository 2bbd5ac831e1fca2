"""`apiinv run`: collect, process and export in one process, then tell the run's people (mail and
notifications, as the schedule says). What cron calls."""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from apiinv import memory
from apiinv.config import ACTION_STEPS, Config, Delivery, ToolConfig
from apiinv.console import Console
from apiinv.errors import (
    ApiInvError,
    ExitStatus,
    NothingToReportError,
    UsageError,
    exit_status_for,
    status_for_outcomes,
)
from apiinv.ops import locks
from apiinv.pipeline.collect import ToolOutcome, collect
from apiinv.pipeline.export import ExportOutcome, describe, export_step
from apiinv.pipeline.process import ProcessOutcome, process
from apiinv.progress import ToolProgress
from apiinv.store import StoreDate, now_iso


@dataclass
class RunResult:
    collected: list[ToolOutcome] = field(default_factory=list)
    processed: list[ProcessOutcome] = field(default_factory=list)
    exported: ExportOutcome | None = None
    mail_error: ApiInvError | None = None

    def errors(self, tool: str) -> list[ApiInvError]:
        steps: list[ToolOutcome | ProcessOutcome] = [*self.collected, *self.processed]
        return [o.problem for o in steps if o.tool == tool and o.problem is not None]

    def tool_state(self, tool: str) -> tuple[str, str | None]:
        """(status, data date) of a tool: the report's view when one was written, else its steps'."""
        data = self.exported.data.data.get(tool) if self.exported and self.exported.data else None
        if data is not None:
            return data.status, data.data_date
        return ("failed" if self.errors(tool) else "ok"), None

    def state_line(self, tool: str, separator: str = " ") -> str:
        """``TOOL STATUS``, with how many of its items failed when some did."""
        failed = sum(len(o.failed_items) for o in self.collected if o.tool == tool)
        state = self.tool_state(tool)[0]
        return f"{tool}{separator}{state}" + (f" ({failed:,} item(s) failed)" if failed else "")

    def exit_status(self, tools: list[str]) -> ExitStatus:
        """Per tool its first error across the steps; a failed mail counts as one more failed part."""
        errors: dict[str, ApiInvError | None] = dict.fromkeys(tools)
        steps: list[ToolOutcome | ProcessOutcome] = [*self.collected, *self.processed]
        for outcome in steps:
            if outcome.problem is not None and errors.get(outcome.tool) is None:
                errors[outcome.tool] = outcome.problem
        parts = list(errors.values()) + ([self.mail_error] if self.mail_error else [])
        return status_for_outcomes(parts)


@dataclass(frozen=True)
class RunPlan:
    """What one run does: a schedule of planner.yaml resolved (its tools, action, workers, formats,
    delivery and run lock), or tools named by hand with the planner's default delivery."""

    tools: list[ToolConfig]
    action: str = "run"
    workers: int | None = None
    formats: list[str] = field(default_factory=lambda: ["xlsx", "json"])
    delivery: Delivery | None = None  # None: nobody hears of it (a library's or the demo's run)
    schedule: str | None = None

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tools]

    @property
    def lock(self) -> str:
        """The run lock: one run of a schedule (or of a set of tools) at a time."""
        return locks.lock_name(self.schedule, self.names)

    @classmethod
    def resolve(
        cls,
        cfg: Config,
        *,
        schedule: str | None = None,
        tools: list[str] | None = None,
        all_tools: bool = False,
        workers: int | None = None,
        formats: list[str] | None = None,
        mail_to: list[str] | None = None,
        only_on_change: bool = False,
    ) -> RunPlan:
        """The run of ``schedule``, or of ``tools`` (``all_tools``: every enabled one); ``workers``,
        ``formats``, ``mail_to`` and ``only_on_change`` given here override the schedule's."""
        action, delivery = "run", cfg.planner.defaults if cfg.planner else Delivery()
        if schedule is not None:
            if tools or all_tools:
                raise UsageError("give tools or --schedule, not both")
            planned = cfg.planner.schedules.get(schedule) if cfg.planner else None
            if planned is None:
                known = ", ".join(cfg.planner.schedules) if cfg.planner else "none"
                raise UsageError(f"no schedule {schedule!r} in planner.yaml (known: {known})")
            tools, action, delivery = planned.tools, planned.action, planned.delivery
            workers, formats = workers or planned.workers, formats or planned.formats
        if mail_to:
            delivery = dataclasses.replace(delivery, mail_to=tuple(mail_to))
        if only_on_change:
            delivery = dataclasses.replace(delivery, only_on_change=True)
        selected = cfg.select(list(tools or []), all_tools=all_tools)
        return cls(selected, action, workers, list(formats or ["xlsx", "json"]), delivery, schedule)


def run(
    cfg: Config,
    day: StoreDate,
    plan: RunPlan,
    *,
    env: dict[str, str] | None = None,
    use_cache: bool = True,
    full: bool = False,
    console: Console | None = None,
) -> RunResult:
    """The plan's run, under its run lock and holding its date: a run record in the date's manifest
    from its start, so one that never ends (killed) shows as such. Delivery only when it is a run."""
    console = console or Console()
    names = plan.names
    with locks.hold(day.store.lock_dir, plan.lock), locks.use_date(day.folder):
        run_id = uuid.uuid4().hex
        day.record_run(
            {
                "id": run_id,
                "schedule": plan.schedule,
                "action": plan.action,
                "tools": names,
                "pid": os.getpid(),
                "lock": plan.lock,
                "started_at": now_iso(),
            }
        )
        status = ExitStatus.ERROR
        try:
            result = _steps(cfg, day, plan, use_cache, full, console)
            status = result.exit_status(names)
            if plan.delivery is not None:
                result.mail_error = deliver(
                    result, status, plan.delivery, day.day, plan.schedule, names, env or {}, console
                )
                status = result.exit_status(names)
        except BaseException as exc:
            status = exit_status_for(exc)
            raise
        finally:
            day.finish_run(run_id, {"finished_at": now_iso(), "exit_status": int(status)})
    return result


def _steps(
    cfg: Config, day: StoreDate, plan: RunPlan, use_cache: bool, full: bool, console: Console
) -> RunResult:
    """The steps the plan's action names, each after the other."""
    steps = ACTION_STEPS[plan.action]
    tools, workers = plan.tools, plan.workers
    result = RunResult()
    if "collect" in steps:
        result.collected = collect_step(tools, day, console, workers=workers, use_cache=use_cache, full=full)
        memory.release()  # each stage's data is on disk: what it freed goes back before the next
    if "process" in steps:
        # A tool whose collection failed is processed only if an earlier raw file of the date is there.
        ready = [t for t in tools if "collect" not in steps or day.raw_path(t.name).exists()]
        # One tool at a time: each holds its raw file in memory, and normalising is CPU-bound Python.
        result.processed = process_step(cfg, ready, day, console)
        memory.release()  # each stage's data is on disk: what it freed goes back before the next
    if "export" in steps:
        try:
            result.exported = export_step(cfg, day, plan.names, plan.formats, workers=workers)
        except NothingToReportError as exc:
            console.problem(f"export: {exc.message}")
            if plan.action != "run":  # after collect and process, their errors already say why
                raise
        if result.exported is not None:
            for line in describe(result.exported):
                console.result(line)
    return result


def collect_step(
    tools: list[ToolConfig],
    day: StoreDate,
    console: Console,
    *,
    workers: int | None = None,
    use_cache: bool = True,
    refresh: bool = False,
    full: bool = False,
) -> list[ToolOutcome]:
    """Collect every tool side by side, showing each tool's progress and outcome as it goes."""
    with ToolProgress("collecting", [t.name for t in tools], console) as progress:
        return collect(
            tools,
            day,
            workers=workers,
            use_cache=use_cache,
            refresh=refresh,
            full=full,
            on_start=progress.start,
            on_done=progress.done,
        )


def process_step(
    cfg: Config,
    tools: list[ToolConfig],
    day: StoreDate,
    console: Console,
    *,
    workers: int | None = None,
) -> list[ProcessOutcome]:
    """Process every tool, showing each outcome as it comes."""
    with ToolProgress("processing", [t.name for t in tools], console) as progress:
        return process(
            tools, day, cfg.analysis, owners=cfg.owner_lookup(), workers=workers, on_done=progress.done
        )


def _events(status: ExitStatus, summary: dict[str, Any] | None) -> set[str]:
    from apiinv.ops.mail import has_changes

    events = set()
    if status in (ExitStatus.ALL_FAILED, ExitStatus.ERROR, ExitStatus.VALIDATION):
        events.add("failure")
    elif status == ExitStatus.PARTIAL:
        events.add("partial")
    if summary is not None and has_changes(summary):
        events.add("change")
    return events


def _tool_lines(result: RunResult, names: list[str], day: date) -> list[str]:
    """Per tool its status and error ids: what a notification may say (never an error's text)."""
    lines = []
    for name in names:
        state = result.state_line(name, ": ")
        data_date = result.tool_state(name)[1]
        detail = ", ".join(f"{e.code} {e.error_id}" for e in result.errors(name))
        used = f", data of {data_date}" if data_date and data_date != str(day) else ""
        lines.append(f"{state}{used}" + (f" ({detail})" if detail else ""))
    return lines


def deliver(
    result: RunResult,
    status: ExitStatus,
    delivery: Delivery,
    day: date,
    schedule: str | None,
    names: list[str],
    env: dict[str, str],
    console: Console,
) -> ApiInvError | None:
    """Tell the run's people: the report mail (or, when the run failed entirely and nobody is notified,
    a failure mail), and one notification when the run's events are among ``notify_on``. A failed mail
    is returned (it makes the run partial); a failed notification is only logged."""
    from apiinv.ops import notify

    exported = result.exported
    data = exported.data if exported else None
    summary = data.summary() if data else None
    events = _events(status, summary)
    what = f"schedule {schedule}" if schedule else "run"
    mail_error: ApiInvError | None = None
    if delivery.mail_to:
        if exported is not None and exported.workbook is not None and data is not None:
            if delivery.only_on_change and "change" not in events:
                console.progress(f"mail: nothing new, removed or changed on {day}: not sent (only_on_change)")
            else:
                mail_error = _mail(exported, day, list(delivery.mail_to), env, console, delivery)
        elif "failure" in events and not delivery.notify:
            mail_error = _mail_failure(
                day, schedule, _tool_lines(result, names, day), list(delivery.mail_to), env, console
            )
    if delivery.notify and events & delivery.notify_on:
        verdict = "FAILED" if "failure" in events else "PARTIAL" if "partial" in events else "changed"
        lines = _tool_lines(result, names, day)
        if summary and summary.get("banner"):
            lines.insert(0, summary["banner"])
        if summary is not None:
            changes = summary["changes"]
            lines.append(
                f"endpoints {summary['endpoints']:,}; {changes['new']:,} new, "
                f"{changes['removed']:,} removed, {changes['changed']:,} changed; findings: "
                + ", ".join(f"{name} {count:,}" for name, count in summary["findings"].items())
            )
        lines.append(f"exit status {int(status)}")
        try:
            urls = notify.expand(delivery.notify, env)
        except ApiInvError as exc:
            console.problem(f"notify: FAILED: {exc.message} [{exc.code} {exc.error_id}]")
            return mail_error
        kind = "failure" if "failure" in events else "warning" if "partial" in events else "info"
        problems = notify.send(
            urls, notify.Message(f"apiinv {what} {day}: {verdict}", "\n".join(lines), kind)
        )
        (console.problem if problems else console.progress)(
            f"notified {len(urls) - len(problems)} of {len(urls)} target(s)"
            + (f": {'; '.join(problems)}" if problems else "")
        )
    return mail_error


def _mail(
    exported: ExportOutcome,
    day: date,
    to: list[str],
    env: dict[str, str],
    console: Console,
    delivery: Delivery,
) -> ApiInvError | None:
    from apiinv.ops import mail

    assert exported.data is not None and exported.workbook is not None
    try:
        mail.mail_report(
            exported.data.summary(),
            exported.data.digest(),
            str(day),
            exported.workbook,
            to,
            env,
            encrypt=delivery.mail_encrypt,
            body=delivery.mail_body,
        )
    except ApiInvError as exc:
        console.problem(
            f"mail: FAILED: {exc.message} [{exc.code} {exc.error_id}]; the report stays in "
            f"{exported.workbook}"
        )
        return exc
    console.progress(
        f"mailed {exported.workbook.name} to {', '.join(to)}"
        + (" (encrypted)" if delivery.mail_encrypt else "")
    )
    return None


def _mail_failure(
    day: date,
    schedule: str | None,
    lines: list[str],
    to: list[str],
    env: dict[str, str],
    console: Console,
) -> ApiInvError | None:
    from apiinv.ops import mail

    try:
        settings = mail.SmtpSettings.from_env(env)
        mail.send(mail.compose_failure(str(day), schedule, lines, to, settings.sender), settings)
    except ApiInvError as exc:
        console.problem(f"mail: FAILED: {exc.message} [{exc.code} {exc.error_id}]")
        return exc
    console.progress(f"mailed the failure to {', '.join(to)}")
    return None
