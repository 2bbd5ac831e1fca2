"""Pipeline commands: collect, process, and run (all three, then delivery)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from apiinv import __version__
from apiinv.cli.app import (
    PIPELINE,
    AllOption,
    FullOption,
    NoCacheOption,
    ToolsArgument,
    WorkersOption,
    app,
    command,
    report_error,
    runtime_of,
)
from apiinv.errors import ApiInvError, exit_status_for


@app.command(rich_help_panel=PIPELINE)
@command
def collect(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    all_tools: AllOption = False,
    workers: WorkersOption = None,
    no_cache: NoCacheOption = False,
    full: FullOption = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ignore cached answers; store fresh ones.")
    ] = False,
) -> int:
    """Fetch each tool's inventory over its REST API into output/DATE/raw/TOOL.json."""
    from apiinv.errors import status_for_outcomes
    from apiinv.ops import locks
    from apiinv.pipeline.run import collect_step

    runtime = runtime_of(ctx)
    selected = runtime.config().select(tools or [], all_tools=all_tools)
    day, console = runtime.day(), runtime.console()
    with locks.use_date(day.folder):
        outcomes = collect_step(
            selected, day, console, workers=workers, use_cache=not no_cache, refresh=refresh, full=full
        )
    console.result(f"raw files: {day.folder / 'raw'}")
    return status_for_outcomes([o.problem for o in outcomes])


@app.command(rich_help_panel=PIPELINE)
@command
def process(
    ctx: typer.Context,
    tools: ToolsArgument = None,
    all_tools: AllOption = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Tools processed in parallel (default 1: more hold more raw files in memory at once, "
            "and are no faster).",
        ),
    ] = None,
) -> int:
    """Normalize raw files into output/DATE/processed/TOOL.json (validated records); works offline."""
    from apiinv.errors import status_for_outcomes
    from apiinv.ops import locks
    from apiinv.pipeline.run import process_step

    runtime = runtime_of(ctx)
    cfg = runtime.config()
    selected = cfg.select(tools or [], all_tools=all_tools)
    day, console = runtime.day(), runtime.console()
    with locks.use_date(day.folder):
        outcomes = process_step(cfg, selected, day, console, workers=workers)
    console.result(f"processed files: {day.folder / 'processed'}")
    return status_for_outcomes([o.error for o in outcomes])


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
    full: FullOption = False,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            metavar="PATH",
            help="Write the run's metrics here, for node_exporter's textfile collector (a .prom file).",
        ),
    ] = None,
) -> int:
    """Collect, process and export in one go, then mail and notify as the schedule says (what cron runs)."""
    from apiinv.ops import metrics
    from apiinv.pipeline import run as pipeline
    from apiinv.pipeline.export import parse_formats

    if metrics_file is not None and metrics_file.suffix != ".prom":
        raise typer.BadParameter(
            "node_exporter's textfile collector reads only .prom files", param_hint="--metrics-file"
        )
    runtime = runtime_of(ctx)
    cfg = runtime.config(require_planner=schedule is not None)
    plan = pipeline.RunPlan.resolve(
        cfg,
        schedule=schedule,
        tools=tools,
        all_tools=all_tools,
        workers=workers,
        formats=parse_formats(formats) if formats else None,
        mail_to=mail_to,
        only_on_change=only_on_change,
    )
    day, console = runtime.day(), runtime.console()
    started = time.monotonic()
    what = f"schedule {schedule}" if schedule else "run " + " ".join(plan.names)
    if console.timestamps:  # a log file or the journal: each run opens with a header line
        console.progress(f"== apiinv {__version__}: {what}, date {day}, pid {os.getpid()}")
    assert plan.delivery is not None  # resolve always says who hears of the run
    path = metrics.metrics_path(metrics_file, plan.delivery.metrics_file, cfg.config_dir, schedule)
    try:
        with metrics.recording(path, day.store, metrics.RunRecord(schedule, plan.names), console) as record:
            record.result = result = pipeline.run(
                cfg, day, plan, env=runtime.env(), use_cache=not no_cache, full=full, console=console
            )
            record.exit_status = status = result.exit_status(plan.names)
    except ApiInvError as exc:
        # Stopped by an error (exit 75: another run holds the lock; an export waited for in vain): the
        # error line as command() would print it, then the log still closes after it.
        report_error(exc)
        if console.timestamps:
            console.progress(
                f"== exit {int(exit_status_for(exc))} after {time.monotonic() - started:.1f}s: {exc.code}"
            )
        raise typer.Exit(exit_status_for(exc)) from None
    if console.timestamps:  # ... and closes with its exit status, duration and each tool's status
        tools_line = ", ".join(result.state_line(name) for name in plan.names)
        console.progress(f"== exit {int(status)} after {time.monotonic() - started:.1f}s: {tools_line}")
    return status
