"""Setup commands: configuration checks, tools, notifications, the simulators and the demo."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from apiinv import __version__, timefmt
from apiinv.cli.app import (
    SETUP,
    CommandGroup,
    WorkersOption,
    app,
    command,
    echo_error,
    report_error,
    runtime_of,
)
from apiinv.errors import ExitStatus, NotifyError
from apiinv.redact import printable


@app.command("validate-config", rich_help_panel=SETUP)
@command
def validate_config(ctx: typer.Context) -> int:
    """Validate planner.yaml and tools.yaml: schemas, cron expressions, tool names, secrets."""
    from apiinv import config

    runtime = runtime_of(ctx)
    loaded, report = config.validate(runtime.config_dir, runtime.env_file, require_planner=True)
    for warning in report.warnings:
        runtime.console().progress(f"warning: {warning}")
    if loaded is None:
        for problem in report.problems:
            runtime.console().problem(problem)
        echo_error(f"{len(report.problems)} problem(s) in {runtime.config_dir}")
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
    """List configured tools (type, base URL, auth kind, whether credentials are present), then the
    shipped presets a tools.yaml entry can name (preset: NAME)."""
    from apiinv import presets
    from apiinv.ops import toolcheck

    runtime = runtime_of(ctx)
    cfg = runtime.config()
    rows = toolcheck.describe(cfg)
    typer.echo(toolcheck.format_table(rows))
    typer.echo(
        f"\nPresets (a tools.yaml entry says preset: NAME):\n{toolcheck.format_table(presets.described())}"
    )
    if not check:
        return ExitStatus.OK
    results = toolcheck.check_all(cfg)
    for result in results:
        typer.echo(printable(result.line()))  # it quotes what the vendor answered
    return toolcheck.exit_status(results)


@app.command(rich_help_panel=SETUP)
@command
def demo(
    ctx: typer.Context,
    size: Annotated[int, typer.Option(min=1, max=100_000, help="APIs in the simulated estate.")] = 200,
    workers: WorkersOption = None,
) -> int:
    """Run the whole pipeline against the bundled simulators for yesterday and today (no credentials),
    into demo-output/ (or --output), its data marked as simulated."""
    from apiinv.pipeline.demo import run_demo

    runtime = runtime_of(ctx)
    results = run_demo(
        runtime.output,
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


notify_app = typer.Typer(
    cls=CommandGroup, help="Notifications of planner.yaml's notify: URLs (apprise).", no_args_is_help=True
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
    from apiinv.ops import notify

    runtime = runtime_of(ctx)
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
        report_error(NotifyError(problem))
    typer.echo(f"sent to {len(urls) - len(problems)} of {len(urls)} target(s)")
    return ExitStatus.ERROR if problems else ExitStatus.OK


sandbox_app = typer.Typer(
    cls=CommandGroup,
    help="The bundled vendor simulators (tests, benchmarks, trying things).",
    no_args_is_help=True,
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
    from apiinv.ops.schedule import running_apiinv
    from apiinv.sandbox import launch

    runtime = runtime_of(ctx)
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
        for tool, reason in sandbox.unavailable.items():
            runtime.console().problem(f"{tool}: not served: {reason}")
        width = max(len(tool) for tool in sandbox.tools)
        for tool in sandbox.tools:
            typer.echo(f"{tool:{width}} {sandbox.url(tool) or 'files under ' + str(folder)}")
        typer.echo(f"configuration: {folder / 'tools.yaml'} (secrets in {folder / '.env'})")
        apiinv = shlex.quote(str(running_apiinv()))
        typer.echo(f"try: {apiinv} --config-dir {shlex.quote(str(folder))} collect --all")
        launch.wait(serve_for)
    return ExitStatus.OK
