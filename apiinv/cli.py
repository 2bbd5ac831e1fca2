"""The apiinv command line: parse, call the library, map the outcome to an exit code.

Heavy libraries (requests, pandas, openpyxl, jsonschema) are imported inside the commands, so that
``apiinv --help`` starts as fast as a bare Typer app.
"""

from __future__ import annotations

import functools
import os
import re
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from apiinv import __version__, timefmt
from apiinv.errors import ApiInvError, ConfigurationError, ExitStatus, exit_status_for
from apiinv.runtime import Runtime

# Global options (name -> takes a value): accepted before or after the command, as people type them.
GLOBAL_OPTIONS = {
    "--config-dir": True,
    "--output": True,
    "--env-file": True,
    "--date": True,
    "--log-level": True,
    "--quiet": False,
    "-q": False,
    "--log-json": False,
}


def hoist_global_options(args: list[str]) -> list[str]:
    """``apiinv run --all --config-dir X`` as ``apiinv --config-dir X run --all``: global options found
    after the command move in front of it (everything after ``--`` stays where it is)."""
    head: list[str] = []
    rest: list[str] = []
    seen_command = False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        name = arg.split("=", 1)[0]
        if seen_command and name in GLOBAL_OPTIONS:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in arg
            head += args[index : index + (2 if takes_value else 1)]
            index += 2 if takes_value else 1
            continue
        if not arg.startswith("-") and not seen_command and (not head or not _takes_value(head[-1])):
            seen_command = True
        (rest if seen_command else head).append(arg)
        index += 1
    return head + rest


def _takes_value(option: str) -> bool:
    return GLOBAL_OPTIONS.get(option, False) and "=" not in option


PIPELINE, REPORTS, SCHEDULING, SETUP = "Pipeline", "Reports", "Scheduling", "Setup"
PANELS = (PIPELINE, REPORTS, SCHEDULING, SETUP)


def _plain_flags(command: Any) -> Any:
    """--help shows what to type, not Python types: flags show nothing (they take no value), other
    options and arguments their name in capitals (``--max-age MAX_AGE``)."""
    for param in getattr(command, "params", []):
        if param.metavar is None:
            param.metavar = "" if getattr(param, "is_flag", False) else (param.name or "value").upper()
        if isinstance(param, typer.core.TyperArgument):
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]  # the name says it all
    if command is not None and not getattr(command, "_plain_help", False):
        original = command.get_help_option
        command.get_help_option = lambda ctx: _plain_flags_option(original(ctx))
        command._plain_help = True
    return command


class _Group(typer.core.TyperGroup):
    """Global options anywhere on the line; commands listed in the order people use them."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def list_commands(self, ctx):
        names = list(self.commands)

        def order(name: str) -> tuple[int, int]:
            panel = getattr(self.commands[name], "rich_help_panel", None)
            return (PANELS.index(panel) if panel in PANELS else len(PANELS), names.index(name))

        return sorted(names, key=order)

    def get_command(self, ctx, name):
        return _plain_flags(super().get_command(ctx, name))

    def get_help_option(self, ctx):
        return _plain_flags_option(super().get_help_option(ctx))


def _plain_flags_option(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


app = typer.Typer(
    name="apiinv",
    cls=_Group,
    help="Collect, normalize and report the API inventory held by API-security and API-management tools.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _echo_error(message: str) -> None:
    typer.echo(f"apiinv: {message}", err=True)


def command(fn):
    """Wrap a command: the one place where outcomes and exceptions become exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from apiinv.logs import get_logger

        log = get_logger("cli")
        try:
            runtime = getattr(kwargs.get("ctx"), "obj", None)
            if isinstance(runtime, Runtime):
                runtime.start_logging()
            status = fn(*args, **kwargs)
        except (typer.Exit, typer.BadParameter):
            raise
        except ConfigurationError as exc:
            log.error("%s", exc, extra={"error_id": exc.error_id, "code": exc.code, "file_only": True})
            for problem in exc.problems:
                typer.echo(problem, err=True)
            if exc.problems != [exc.message]:
                _echo_error(f"{exc} [{exc.code} {exc.error_id}]")
            raise typer.Exit(exit_status_for(exc)) from None
        except ApiInvError as exc:
            log.error("%s", exc, extra={"error_id": exc.error_id, "code": exc.code, "file_only": True})
            _echo_error(f"{exc} [{exc.code} {exc.error_id}]")
            raise typer.Exit(exit_status_for(exc)) from None
        except KeyboardInterrupt:
            _echo_error("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            log.error(
                "unexpected error %s",
                error_id,
                exc_info=True,
                extra={"error_id": error_id, "file_only": True},
            )
            from apiinv.redact import redact

            _echo_error(
                f"unexpected error: {type(exc).__name__}: {redact(str(exc))[:300]} [{error_id}; "
                "traceback in the log]"
            )
            raise typer.Exit(ExitStatus.ERROR) from None
        raise typer.Exit(int(status or 0))

    return wrapper


def _runtime(ctx: typer.Context) -> Runtime:
    return ctx.ensure_object(Runtime)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"apiinv {__version__}")
        raise typer.Exit()


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    # Strictly YYYY-MM-DD: fromisoformat alone also takes 20261201 and 2026-W48-2, which would name
    # folders no other command finds.
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@app.callback()
def main_options(
    ctx: typer.Context,
    config_dir: Annotated[
        Path,
        typer.Option(
            envvar="APIINV_CONFIG_DIR", metavar="DIR", help="Folder of planner.yaml and tools.yaml."
        ),
    ] = Path("."),
    output: Annotated[
        Path, typer.Option(envvar="APIINV_OUTPUT", metavar="DIR", help="Output root: dates, logs, cache.")
    ] = Path("output"),
    env_file: Annotated[
        Path | None,
        typer.Option(
            envvar="APIINV_ENV_FILE", metavar="FILE", help="Secrets file (default: .env if present)."
        ),
    ] = None,
    run_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            envvar="APIINV_DATE",
            metavar="YYYY-MM-DD",
            help="Run date (default: today, planner's zone).",
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(envvar="APIINV_LOG_LEVEL", metavar="LEVEL", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "INFO",
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", envvar="APIINV_QUIET", metavar="", help="Only problems, one line each."
        ),
    ] = False,
    log_json: Annotated[
        bool,
        typer.Option("--log-json", envvar="APIINV_LOG_JSON", metavar="", help="JSON lines on the console."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Print the version."),
    ] = False,
) -> None:
    if log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise typer.BadParameter(
            f"{log_level!r} is not one of DEBUG, INFO, WARNING, ERROR", param_hint="--log-level"
        )
    runtime = Runtime(
        config_dir=config_dir,
        output=output,
        env_file=env_file,
        run_date=_parse_date(run_date),
        log_level=log_level.upper(),
        quiet=quiet,
        log_json=log_json,
    )
    ctx.obj = runtime


@app.command("validate-config", rich_help_panel=SETUP)
@command
def validate_config(ctx: typer.Context) -> int:
    """Validate planner.yaml and tools.yaml: schemas, cron expressions, tool names, secrets."""
    from apiinv import config

    runtime = _runtime(ctx)
    loaded, report = config.validate(runtime.config_dir, runtime.env_file, require_planner=True)
    for warning in report.warnings:
        runtime.console().progress(f"warning: {warning}")
    if loaded is None:
        for problem in report.problems:
            typer.echo(problem, err=True)
        _echo_error(f"{len(report.problems)} problem(s) in {runtime.config_dir}")
        return ExitStatus.CONFIGURATION
    schedules = loaded.planner.schedules if loaded.planner else {}
    typer.echo(f"{runtime.config_dir / config.PLANNER_FILE}: ok ({len(schedules)} schedules)")
    typer.echo(f"{runtime.config_dir / config.TOOLS_FILE}: ok ({len(loaded.tools)} tools)")
    return ExitStatus.OK


@app.command("tools", rich_help_panel=SETUP)
@command
def tools(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Make one authenticated call per enabled tool.")
    ] = False,
) -> int:
    """List configured tools: type, base URL, auth kind, whether credentials are present."""
    from apiinv import toolcheck

    runtime = _runtime(ctx)
    cfg = runtime.config()
    rows = toolcheck.describe(cfg)
    typer.echo(toolcheck.format_table(rows))
    if not check:
        return ExitStatus.OK
    results = toolcheck.check_all(cfg)
    for result in results:
        typer.echo(result.line())
    return toolcheck.exit_status(results)


ToolsArgument = Annotated[
    list[str] | None, typer.Argument(help="Tool names from tools.yaml, or 'all'.", show_default=False)
]
AllOption = Annotated[bool, typer.Option("--all", help="Every enabled tool.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=64,
        help="Parallel requests inside each tool (default: the tool's concurrency); "
        "tools always run side by side.",
    ),
]


NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the HTTP cache.")]


@app.command(rich_help_panel=PIPELINE)
@command
def collect(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    all_tools: AllOption = False,
    workers: WorkersOption = None,
    no_cache: NoCacheOption = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ignore cached answers; store fresh ones.")
    ] = False,
) -> int:
    """Fetch each tool's inventory over its REST API into output/DATE/raw/TOOL.json."""
    from apiinv.errors import status_for_outcomes
    from apiinv.pipeline import collect_step

    runtime = _runtime(ctx)
    selected = runtime.config().select(tools or [], all_tools=all_tools)
    day, store = runtime.date(), runtime.store()
    console = runtime.console()
    outcomes = collect_step(
        selected, store, day, console, workers=workers, use_cache=not no_cache, refresh=refresh
    )
    console.result(f"raw files: {store.date_dir(day) / 'raw'}")
    return status_for_outcomes([o.error for o in outcomes])


@app.command(rich_help_panel=SETUP)
@command
def demo(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(min=1, max=100_000, help="APIs in the simulated estate.")] = 200,
    workers: WorkersOption = None,
) -> int:
    """Run the whole pipeline against the bundled simulators for yesterday and today (no credentials)."""
    from apiinv.demo import run_demo

    runtime = _runtime(ctx)
    store = runtime.store()
    results = run_demo(
        store,
        today=runtime.run_date or timefmt.today(),
        size=size,
        workers=workers,
        console=runtime.console(),
    )
    _, last = results[-1]
    if last.exported is not None and last.exported.workbook is not None:
        runtime.console().result(f"workbook: {last.exported.workbook.resolve()}")
    tools = [o.tool for o in last.collected]
    return max((r.exit_status(tools) for _, r in results), key=int)


@app.command(rich_help_panel=PIPELINE)
@command
def process(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    all_tools: AllOption = False,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Tools processed in parallel.")] = None,
) -> int:
    """Normalize raw files into output/DATE/processed/TOOL.json (validated records); works offline."""
    from apiinv.errors import status_for_outcomes
    from apiinv.pipeline import process_step

    runtime = _runtime(ctx)
    cfg = runtime.config()
    selected = cfg.select(tools or [], all_tools=all_tools)
    day, store = runtime.date(), runtime.store()
    console = runtime.console()
    outcomes = process_step(cfg, selected, store, day, console, workers=workers)
    console.result(f"processed files: {store.date_dir(day) / 'processed'}")
    return status_for_outcomes([o.error for o in outcomes])


@app.command(rich_help_panel=REPORTS)
@command
def diff(
    ctx: typer.Context,
    from_date: Annotated[str, typer.Option("--from", help="The earlier date, YYYY-MM-DD.")],
    to_date: Annotated[str, typer.Option("--to", help="The later date, YYYY-MM-DD.")],
    tools: ToolsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the changes as JSON.")] = False,
) -> int:
    """New, removed and changed endpoints between two dates (from the processed files)."""
    from apiinv import changes

    runtime = _runtime(ctx)
    before, after = _parse_date(from_date), _parse_date(to_date)
    assert before is not None and after is not None  # both options are required
    results = changes.diff_dates(runtime.store(), before, after, tools or None)
    typer.echo(changes.render_json(results, before, after) if as_json else changes.render_text(results))
    return ExitStatus.OK


@app.command(rich_help_panel=REPORTS)
@command
def excel(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An .xlsx, .xlsm, .xlsb, .xls or .ods workbook.")],
    sheet: Annotated[str | None, typer.Option(help="Only this sheet (default: every sheet).")] = None,
    to: Annotated[
        str | None, typer.Option(help="Export as csv or json (default: describe the sheets).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output file (csv: one per sheet, named FILE-SHEET.csv when several).")
    ] = None,
) -> int:
    """Read a workbook: every sheet, header row found, cells trimmed, empty rows dropped, types kept."""
    from apiinv import excel_reader

    if to not in (None, "csv", "json"):
        raise typer.BadParameter("csv or json", param_hint="--to")
    sheets = excel_reader.read_workbook(file, sheet=sheet)
    if to is None:
        for book_sheet in sheets:
            typer.echo(
                f"{book_sheet.name}: {len(book_sheet.rows)} rows, header on row {book_sheet.header_row}: "
                f"{', '.join(book_sheet.headers)}"
            )
        return ExitStatus.OK
    for line in excel_reader.export(sheets, to, out, source=file):
        typer.echo(line, err=out is not None)
    return ExitStatus.OK


FormatsOption = Annotated[str, typer.Option("--format", help="Comma-separated: xlsx, json, csv.")]


@app.command("export", rich_help_panel=REPORTS)
@command
def export_reports(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    formats: FormatsOption = "xlsx,json",
) -> int:
    """Write the dated reports: per tool and combined, with changes and findings."""
    from apiinv.export import describe, export, parse_formats

    runtime = _runtime(ctx)
    cfg = runtime.config()
    selected = cfg.select(tools or ["all"])
    outcome = export(
        runtime.store(),
        runtime.date(),
        [t.name for t in selected],
        cfg.analysis,
        formats=parse_formats(formats),
        types={t.name: t.type for t in selected},
        timezone=cfg.timezone,
    )
    console = runtime.console()
    for line in describe(outcome):
        console.result(line)
    return ExitStatus.OK


@app.command(rich_help_panel=PIPELINE)
@command
def run(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    all_tools: AllOption = False,
    schedule: Annotated[
        str | None, typer.Option(help="Run a schedule of planner.yaml (what cron calls).")
    ] = None,
    workers: WorkersOption = None,
    formats: Annotated[str | None, typer.Option("--format", help="Comma-separated: xlsx, json, csv.")] = None,
    mail_to: Annotated[
        list[str] | None, typer.Option("--mail-to", help="Mail the workbook to this address.")
    ] = None,
    only_on_change: Annotated[
        bool, typer.Option("--only-on-change", help="Mail only when something is new, removed or changed.")
    ] = False,
    no_cache: NoCacheOption = False,
) -> int:
    """Collect, process and export in one go, then mail and notify as the schedule says (what cron runs)."""
    import dataclasses

    from apiinv import locks, pipeline
    from apiinv.config import Delivery
    from apiinv.export import parse_formats

    runtime = _runtime(ctx)
    cfg = runtime.config(require_planner=schedule is not None)
    action, chosen_formats = "run", formats
    delivery = cfg.planner.defaults if cfg.planner else Delivery()
    if schedule is not None:
        if tools or all_tools:
            raise typer.BadParameter("give tools or --schedule, not both")
        plan = cfg.planner.schedules.get(schedule) if cfg.planner else None
        if plan is None:
            known = ", ".join(cfg.planner.schedules) if cfg.planner else "none"
            raise typer.BadParameter(f"no schedule {schedule!r} in planner.yaml (known: {known})")
        tools, action = plan.tools, plan.action
        workers = workers or plan.workers
        chosen_formats = chosen_formats or ",".join(plan.formats)
        delivery = plan.delivery
    if mail_to:
        delivery = dataclasses.replace(delivery, mail_to=tuple(mail_to))
    if only_on_change:
        delivery = dataclasses.replace(delivery, only_on_change=True)
    selected = cfg.select(tools or [], all_tools=all_tools)
    day, store = runtime.date(), runtime.store()
    console = runtime.console()
    started = time.monotonic()
    what = f"schedule {schedule}" if schedule else "run " + " ".join(t.name for t in selected)
    if console.timestamps:  # a log file or the journal: each run opens with a header line
        console.progress(f"== apiinv {__version__}: {what}, date {day}, pid {os.getpid()}")
    with locks.hold(store.lock_dir, locks.lock_name(schedule, [t.name for t in selected])):
        result = pipeline.run(
            cfg,
            store,
            day,
            selected,
            action=action,
            workers=workers,
            formats=parse_formats(chosen_formats or "xlsx,json"),
            delivery=delivery,
            env=runtime.env(),
            use_cache=not no_cache,
            schedule=schedule,
            console=console,
        )
    status = result.exit_status([t.name for t in selected])
    if console.timestamps:  # ... and closes with its exit status, duration and each tool's status
        tools_line = ", ".join(f"{t.name} {result.tool_state(t.name)[0]}" for t in selected)
        console.progress(f"== exit {int(status)} after {time.monotonic() - started:.1f}s: {tools_line}")
    return status


@app.command(rich_help_panel=REPORTS)
@command
def mail(
    ctx: typer.Context,
    to: Annotated[list[str], typer.Option("--to", help="Recipient; repeat for several.")],
    subject: Annotated[str | None, typer.Option(help="Subject (default: date and counts).")] = None,
    only_on_change: Annotated[
        bool, typer.Option("--only-on-change", help="Send only when something is new, removed or changed.")
    ] = False,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt", help="Password-protect the workbook (password: APIINV_ATTACHMENT_PASSWORD)."
        ),
    ] = False,
) -> int:
    """E-mail the dated combined workbook with a digest (SMTP settings from the environment or .env)."""
    from apiinv import mail as mailing
    from apiinv.errors import UsageError

    runtime = _runtime(ctx)
    day, store = runtime.date(), runtime.store()
    report = store.read_manifest(day).get("report") or {}
    workbook = store.date_dir(day) / report["workbook"] if report.get("workbook") else None
    if workbook is None or not workbook.is_file():
        raise UsageError(f"no workbook for {day} in {store.root}; run export first")
    if only_on_change and not mailing.has_changes(report["summary"]):
        runtime.console().progress(f"nothing new, removed or changed on {day}: not sent")
        return ExitStatus.OK
    env = runtime.env()
    settings = mailing.SmtpSettings.from_env(env)
    message = mailing.compose(
        report["summary"],
        str(day),
        workbook,
        mailing.validate_addresses(to),
        settings.sender,
        subject,
        digest=report.get("digest"),
        password=mailing.attachment_password(env) if encrypt else None,
    )
    mailing.send(message, settings)
    runtime.console().progress(f"mailed {workbook.name} to {', '.join(to)}" + (" (encrypted)" * encrypt))
    return ExitStatus.OK


@app.command(rich_help_panel=REPORTS)
@command
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> int:
    """What the runs did: per tool and step status, counts, durations, errors; the last run per schedule."""
    from apiinv import status as run_status

    runtime = _runtime(ctx)
    found = run_status.report(runtime.store(), str(runtime.run_date) if runtime.run_date else None)
    if as_json:
        import orjson

        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(run_status.render_text(found))
    return ExitStatus.OK


@app.command(rich_help_panel=SCHEDULING)
@command
def cleanup(
    ctx: typer.Context,
    max_age: Annotated[
        int, typer.Option("--max-age", min=1, help="Delete what is older than this many days.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go; delete nothing.")] = False,
) -> int:
    """Retention: delete dated folders, logs and cache older than N days (never the newest complete run)."""
    from apiinv import cleanup as retention

    runtime = _runtime(ctx)
    today = runtime.date()
    planned = retention.plan(runtime.store(), max_age, today)
    verb = "would delete" if dry_run else "deleted"
    for path in planned.removed:
        typer.echo(f"{verb} {path}")
    if not dry_run:
        retention.apply(planned)
    kept = f"; kept the newest complete run {planned.kept_newest}" if planned.kept_newest else ""
    typer.echo(f"{verb} {len(planned.removed)} item(s), {planned.freed / 1e6:.1f} MB{kept}")
    return ExitStatus.OK


schedule_app = typer.Typer(
    cls=_Group,
    help="planner.yaml to crontab entries (install_cron.sh calls `schedule install`).",
    no_args_is_help=True,
)
app.add_typer(schedule_app, name="schedule", rich_help_panel=SCHEDULING)
UserOption = Annotated[str | None, typer.Option("--user", help="Another user's crontab (needs root).")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the resulting crontab; change nothing.")]


@schedule_app.command("list")
@command
def schedule_list(ctx: typer.Context) -> int:
    """Each schedule: cron expression, what it means, its next runs, tools and action."""
    from apiinv import schedule as scheduling

    planner = _runtime(ctx).config(require_planner=True).planner
    assert planner is not None
    for name, plan in planner.schedules.items():
        state = "" if plan.enabled else " (disabled)"
        typer.echo(
            f"{name}{state}: {plan.cron} = {scheduling.describe(plan.cron)}"
            f"{' ' + planner.timezone if planner.timezone else ''}"
        )
        typer.echo(f"  action {plan.action}; tools {', '.join(plan.tools)}; workers {plan.workers}")
        upcoming = ", ".join(
            t.strftime("%Y-%m-%d %H:%M %Z").strip() for t in scheduling.next_runs(plan, planner)
        )
        typer.echo(f"  next: {upcoming}")
    return ExitStatus.OK


def _rendered(runtime: Runtime):
    from apiinv import config
    from apiinv import schedule as scheduling

    planner = runtime.config(require_planner=True).planner
    assert planner is not None
    return scheduling.render(
        planner,
        config_dir=runtime.config_dir,
        output=runtime.output,
        planner_file=runtime.config_dir / config.PLANNER_FILE,
    )


@schedule_app.command("render")
@command
def schedule_render(
    ctx: typer.Context,
    unit_format: Annotated[
        str, typer.Option("--format", help="crontab, systemd (a .service and .timer each) or k8s (CronJobs).")
    ] = "crontab",
    out: Annotated[
        Path | None, typer.Option("--out", help="systemd: write the unit files into this folder.")
    ] = None,
    image: Annotated[str, typer.Option("--image", help="k8s: the container image.")] = "apiinv:latest",
    namespace: Annotated[str | None, typer.Option("--namespace", help="k8s: the namespace.")] = None,
    secret: Annotated[
        str, typer.Option("--secret", help="k8s: Secret with credentials, as envFrom.")
    ] = "apiinv-secrets",  # noqa: S107 (a Secret object's name)
    config_map: Annotated[
        str, typer.Option("--config-map", help="k8s: ConfigMap with the YAML files.")
    ] = "apiinv-config",
    claim: Annotated[
        str, typer.Option("--claim", help="k8s: PersistentVolumeClaim for output.")
    ] = "apiinv-output",
) -> int:
    """Print planner.yaml's schedules as a crontab block, systemd timer units or Kubernetes CronJobs."""
    from apiinv import schedule as scheduling
    from apiinv import units

    runtime = _runtime(ctx)
    if unit_format == "crontab":
        typer.echo(_rendered(runtime).block, nl=False)
        return ExitStatus.OK
    planner = runtime.config(require_planner=True).planner
    assert planner is not None
    if unit_format == "systemd":
        target = units.Target(
            str(scheduling.installed_apiinv()),
            str(runtime.config_dir.absolute()),
            str(runtime.output.absolute()),
        )
        rendered = units.systemd(planner, target)
        if out is not None:
            for path in units.write_units(rendered, out):
                typer.echo(f"wrote {path}")
            return ExitStatus.OK
        for name, text in rendered.items():
            typer.echo(f"# --- {name}\n{text}")
        return ExitStatus.OK
    if unit_format == "k8s":
        cluster = units.Cluster(image, namespace, secret, config_map, claim)
        typer.echo(units.kubernetes_yaml(planner, cluster), nl=False)
        return ExitStatus.OK
    raise typer.BadParameter(f"{unit_format!r}: choose crontab, systemd or k8s", param_hint="--format")


@schedule_app.command("install")
@command
def schedule_install(ctx: typer.Context, user: UserOption = None, dry_run: DryRunOption = False) -> int:
    """Install the block into the crontab (replacing an earlier one); write schedules/apiinv.cron."""
    from apiinv import schedule as scheduling
    from apiinv.store import write_atomic

    runtime = _runtime(ctx)
    rendered = _rendered(runtime)
    crontab = scheduling.Crontab(user)
    new = scheduling.with_block(crontab.read(), rendered.block)
    review = runtime.config_dir / "schedules" / "apiinv.cron"
    if dry_run:
        typer.echo(new, nl=False)
        typer.echo("dry run: nothing installed, nothing written", err=True)
        return ExitStatus.OK
    write_atomic(review, rendered.block.encode(), mode=0o644)
    crontab.write(new)
    typer.echo(
        f"installed {rendered.entries} entr{'y' if rendered.entries == 1 else 'ies'} into the crontab"
        f"{' of ' + user if user else ''}; block written to {review}"
    )
    return ExitStatus.OK


@schedule_app.command("remove")
@command
def schedule_remove(ctx: typer.Context, user: UserOption = None, dry_run: DryRunOption = False) -> int:
    """Remove apiinv's block from the crontab; every other line stays."""
    from apiinv import schedule as scheduling

    crontab = scheduling.Crontab(user)
    current = crontab.read()
    new = scheduling.without_block(current)
    if dry_run:
        typer.echo(new, nl=False)
        return ExitStatus.OK
    whose = f"the crontab{' of ' + user if user else ''}"
    if new == current:
        typer.echo(f"no apiinv entries in {whose}: nothing removed")
        return ExitStatus.OK
    crontab.write(new)
    typer.echo(f"removed apiinv's entries from {whose}")
    return ExitStatus.OK


notify_app = typer.Typer(
    cls=_Group, help="Notifications of planner.yaml's notify: URLs (apprise).", no_args_is_help=True
)
app.add_typer(notify_app, name="notify", rich_help_panel=SETUP)


@notify_app.command("test")
@command
def notify_test(
    ctx: typer.Context,
    schedule: Annotated[
        str | None, typer.Option(help="The schedule whose notify: URLs to try (default: planner defaults).")
    ] = None,
) -> int:
    """Send a test message to every notify: URL; exit 1 when one cannot be delivered."""
    from apiinv import notify

    runtime = _runtime(ctx)
    planner = runtime.config(require_planner=True).planner
    assert planner is not None
    delivery = planner.defaults
    if schedule is not None:
        if schedule not in planner.schedules:
            raise typer.BadParameter(f"no schedule {schedule!r} in planner.yaml")
        delivery = planner.schedules[schedule].delivery
    if not delivery.notify:
        raise typer.BadParameter(f"no notify: URLs for {schedule or 'the planner defaults'} in planner.yaml")
    urls = notify.expand(delivery.notify, runtime.env())
    problems = notify.send(
        urls,
        notify.Message(
            f"apiinv: test notification ({schedule or 'defaults'})",
            f"apiinv {__version__} can reach this target. "
            f"Runs notify on: {', '.join(sorted(delivery.notify_on))}.",
        ),
    )
    for problem in problems:
        _echo_error(problem)
    typer.echo(f"sent to {len(urls) - len(problems)} of {len(urls)} target(s)")
    return ExitStatus.ERROR if problems else ExitStatus.OK


sandbox_app = typer.Typer(
    cls=_Group, help="The bundled vendor simulators (tests, benchmarks, trying things).", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox", rich_help_panel=SETUP)


@sandbox_app.command("serve")
@command
def sandbox_serve(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(min=1, max=100_000, help="APIs in the generated estate.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the generated estate.")] = 7,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added latency per response.")] = 0.0,
    rate_limit: Annotated[
        list[str] | None,
        typer.Option(help="TOOL=RPM: answer 429 with Retry-After past RPM requests a minute."),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TOOL=KIND,...",
            help="A fault to inject: KIND is status, html502, slow, reset, cut, truncate or "
            "expire_tokens; options times=N, status=S, path=REGEX, delay=SEC follow, comma-separated.",
        ),
    ] = None,
    kong_admin_token: Annotated[
        bool, typer.Option("--kong-admin-token", help="Require Kong-Admin-Token (Enterprise RBAC).")
    ] = False,
    write_config: Annotated[
        Path,
        typer.Option(
            help="Folder for the tools.yaml, .env and service-account key that point at the simulators."
        ),
    ] = Path("sandbox"),
    serve_for: Annotated[
        float | None,
        typer.Option("--for", min=0, help="Stop after this many seconds (default: until Ctrl-C)."),
    ] = None,
) -> int:
    """Run the vendor simulators on 127.0.0.1 and write a ready-to-use configuration for them."""
    from apiinv.sandbox import launch

    runtime = _runtime(ctx)
    sandbox = launch.Sandbox(
        size=size,
        seed=seed,
        day=runtime.run_date,
        latency=latency_ms / 1000,
        rate_limits=launch.parse_rate_limits(rate_limit or []),
        kong_admin_token=kong_admin_token,
    )
    with sandbox:
        for spec in fault or []:
            launch.inject_fault(sandbox, spec)
        folder = sandbox.write_config(write_config)
        for tool in launch.TOOLS:
            typer.echo(f"{tool:9} {sandbox.url(tool)}")
        typer.echo(f"configuration: {folder / 'tools.yaml'} (secrets in {folder / '.env'})")
        typer.echo(f"try: apiinv --config-dir {folder} collect --all")
        launch.wait(serve_for)
    return ExitStatus.OK


def main() -> None:
    app(prog_name="apiinv")


if __name__ == "__main__":
    main()
