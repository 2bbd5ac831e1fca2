"""`apiinv run`: collect, process and export in one process, then mail if asked. What cron calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from apiinv.collect import ToolOutcome, collect
from apiinv.config import Config, ToolConfig
from apiinv.errors import ApiInvError, ExitStatus, status_for_outcomes
from apiinv.export import ExportOutcome, NothingToReportError, describe, export
from apiinv.process import ProcessOutcome, process
from apiinv.store import Store, now_iso

STEPS = {
    "collect": ("collect",),
    "process": ("process",),
    "export": ("export",),
    "generate_reports": ("export",),
    "run": ("collect", "process", "export"),
}


@dataclass
class RunResult:
    collected: list[ToolOutcome] = field(default_factory=list)
    processed: list[ProcessOutcome] = field(default_factory=list)
    exported: ExportOutcome | None = None
    mail_error: ApiInvError | None = None

    def exit_status(self, tools: list[str]) -> ExitStatus:
        """Per tool its first error across the steps; a failed mail counts as one more failed part."""
        errors: dict[str, ApiInvError | None] = dict.fromkeys(tools)
        steps: list[ToolOutcome | ProcessOutcome] = [*self.collected, *self.processed]
        for outcome in steps:
            if outcome.error is not None and errors.get(outcome.tool) is None:
                errors[outcome.tool] = outcome.error
        parts = list(errors.values()) + ([self.mail_error] if self.mail_error else [])
        return status_for_outcomes(parts)


def run(
    cfg: Config,
    store: Store,
    day: date,
    tools: list[ToolConfig],
    *,
    action: str = "run",
    workers: int | None = None,
    formats: list[str] | None = None,
    mail_to: list[str] | None = None,
    env: dict[str, str] | None = None,
    use_cache: bool = True,
    schedule: str | None = None,
    echo: Callable[[str], None] = print,
) -> RunResult:
    steps = STEPS[action]
    names = [t.name for t in tools]
    result = RunResult()
    started_at = now_iso()
    if "collect" in steps:
        result.collected = collect(tools, store, day, workers=workers, use_cache=use_cache)
        for outcome in result.collected:
            echo(outcome.summary())
    if "process" in steps:
        # A tool whose collection failed is processed only if an earlier raw file of the date is there.
        ready = [t for t in tools if "collect" not in steps or store.raw_path(day, t.name).exists()]
        result.processed = process(
            ready, store, day, cfg.analysis, owners=cfg.owner_lookup(), workers=workers
        )
        for processed in result.processed:
            echo(processed.summary())
    if "export" in steps:
        try:
            result.exported = export(
                store,
                day,
                names,
                cfg.analysis,
                formats=formats or ["xlsx", "json"],
                types={t.name: t.type for t in tools},
                timezone=cfg.timezone,
            )
        except NothingToReportError as exc:
            echo(f"export: {exc.message}")
            if action != "run":  # after collect and process, their errors already say why
                raise
        if result.exported is not None:
            for line in describe(result.exported):
                echo(line)
            if mail_to and result.exported.workbook is not None:
                result.mail_error = _mail(result.exported, day, mail_to, env or {}, echo)
    status = result.exit_status(names)
    store.record_run(
        day,
        {
            "schedule": schedule,
            "action": action,
            "tools": names,
            "started_at": started_at,
            "finished_at": now_iso(),
            "exit_status": int(status),
        },
    )
    return result


def _mail(
    exported: ExportOutcome, day: date, to: list[str], env: dict[str, str], echo: Callable[[str], None]
) -> ApiInvError | None:
    from apiinv import mail

    assert exported.data is not None and exported.workbook is not None
    try:
        settings = mail.SmtpSettings.from_env(env)
        message = mail.compose(exported.data.summary(), str(day), exported.workbook, to, settings.sender)
        mail.send(message, settings)
    except ApiInvError as exc:
        echo(
            f"mail: FAILED: {exc.message} [{exc.code} {exc.error_id}]; the report stays in "
            f"{exported.workbook}"
        )
        return exc
    echo(f"mailed {exported.workbook.name} to {', '.join(to)}")
    return None
