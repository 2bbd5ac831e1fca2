"""Scheduling commands: planner.yaml to crontab, systemd or Kubernetes, and retention."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from apiinv.cli.app import (
    SCHEDULING,
    CommandGroup,
    app,
    command,
    runtime_of,
)
from apiinv.errors import ExitStatus, MissingSecretError, UsageError
from apiinv.runtime import Runtime

if TYPE_CHECKING:
    from apiinv.ops.schedule import Rendered


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
    from apiinv.ops import cleanup as retention

    runtime = runtime_of(ctx)
    today = runtime.date()
    planned = retention.plan(runtime.store(), max_age, today)
    if not dry_run:
        retention.apply(planned)
    verb = "would delete" if dry_run else "deleted"
    for path in planned.removed:
        typer.echo(f"{verb} {path}")
    for path, reason in planned.skipped:
        typer.echo(f"kept {path}: {reason}")
    kept = f"; kept the newest complete run {planned.kept_newest}" if planned.kept_newest else ""
    typer.echo(f"{verb} {len(planned.removed)} item(s), {planned.freed / 1e6:.1f} MB{kept}")
    return ExitStatus.OK


schedule_app = typer.Typer(
    cls=CommandGroup,
    help="planner.yaml to crontab entries (install_cron.sh calls `schedule install`).",
    no_args_is_help=True,
)


app.add_typer(schedule_app, name="schedule", rich_help_panel=SCHEDULING)


UserOption = Annotated[str | None, typer.Option("--user", help="Another user's crontab (needs root).")]


DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the resulting crontab; change nothing.")]


ApiinvOption = Annotated[
    Path | None,
    typer.Option(
        "--apiinv",
        metavar="PATH",
        help="The apiinv the schedules run (default: install_cron.sh's .venv-cron beside a checkout, "
        "else this one).",
    ),
]


@schedule_app.command("list")
@command
def schedule_list(ctx: typer.Context) -> int:
    """Each schedule: cron expression, what it means, its next runs, tools and action."""
    from apiinv.ops import schedule as scheduling

    planner = runtime_of(ctx).config(require_planner=True).planner
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


def _rendered(runtime: Runtime, executable: Path | None) -> Rendered:
    from apiinv import config
    from apiinv.ops import schedule as scheduling

    planner = runtime.config(require_planner=True).planner
    assert planner is not None
    return scheduling.render(
        planner,
        config_dir=runtime.config_dir,
        output=runtime.output,
        planner_file=runtime.config_dir / config.PLANNER_FILE,
        executable=executable and executable.absolute(),
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
    run_as: Annotated[
        str | None,
        typer.Option("--user", help="systemd: the account the services run as (default: you, not root)."),
    ] = None,
    executable: ApiinvOption = None,
) -> int:
    """Print planner.yaml's schedules as a crontab block, systemd timer units or Kubernetes CronJobs."""
    from apiinv.ops import schedule as scheduling
    from apiinv.ops import units

    runtime = runtime_of(ctx)
    if unit_format == "crontab":
        typer.echo(_rendered(runtime, executable).block, nl=False)
        return ExitStatus.OK
    planner = runtime.config(require_planner=True).planner
    assert planner is not None
    if unit_format == "systemd":
        target = units.Target(
            str((executable or scheduling.cron_apiinv()).absolute()),
            str(runtime.config_dir.absolute()),
            str(runtime.output.absolute()),
            run_as or getpass.getuser(),
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
def schedule_install(
    ctx: typer.Context,
    user: UserOption = None,
    dry_run: DryRunOption = False,
    executable: ApiinvOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Install even schedules whose tools lack credentials.")
    ] = False,
) -> int:
    """Install the block into the crontab (replacing an earlier one); write schedules/apiinv.cron."""
    from apiinv.ops import schedule as scheduling
    from apiinv.store import write_atomic

    runtime = runtime_of(ctx)
    rendered = _rendered(runtime, executable)
    settings = runtime.config(require_planner=True)
    assert settings.planner is not None
    unready = scheduling.unready_tools(settings, settings.planner)
    if unready and not force:
        raise MissingSecretError(
            "these scheduled jobs would fail every run; set what they lack (in the config folder's .env: "
            "cron does not see your shell's variables), or install anyway with --force",
            problems=unready,
        )
    for line in unready:
        runtime.console().problem(f"warning: {line} (installed anyway: --force)")
    runs = executable or scheduling.cron_apiinv()
    if not dry_run and not runs.is_file():
        raise UsageError(
            f"the schedules would run {runs.absolute()}, which is not installed "
            "(./install_cron.sh builds it; or name another with --apiinv); nothing was changed"
        )
    crontab = scheduling.Crontab(user)
    new = scheduling.with_block(crontab.read(), rendered.block)
    review = runtime.config_dir / "schedules" / "apiinv.cron"
    if dry_run:
        typer.echo(new, nl=False)
        runtime.console().progress("dry run: nothing installed, nothing written")
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
    from apiinv.ops import schedule as scheduling

    crontab = scheduling.Crontab(user)
    current = crontab.read()
    new = scheduling.without_block(current)
    if dry_run:
        typer.echo(new, nl=False)
        return ExitStatus.OK
    review = runtime_of(ctx).config_dir / "schedules" / "apiinv.cron"
    if review.is_file():
        review.unlink()
        typer.echo(f"removed {review}")
    whose = f"the crontab{' of ' + user if user else ''}"
    if new == current:
        typer.echo(f"no apiinv entries in {whose}: nothing removed")
        return ExitStatus.OK
    crontab.write(new)
    typer.echo(f"removed apiinv's entries from {whose}")
    return ExitStatus.OK
