"""The apiinv command line: parse, call the library, map the outcome to an exit code.

Heavy libraries (requests, pandas, openpyxl, jsonschema) are imported inside the commands, so that
``apiinv --help`` starts as fast as a bare Typer app.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import ClickException  # Typer's own click, which it raises
from typer._click.globals import get_current_context

from apiinv import __version__, memory
from apiinv.console import Console
from apiinv.errors import ApiInvError, ConfigurationError, ExitStatus, exit_status_for
from apiinv.runtime import Runtime

if TYPE_CHECKING:
    from typer._click.core import Command, Context
    from typer.core import TyperOption

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
    "--version": False,
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


def _with_error_id(error: ClickException) -> ClickException:
    """A usage error's message ending in its code and id, as every other error line does."""
    if not hasattr(error, "error_id"):
        error.error_id = uuid.uuid4().hex[:12]  # type: ignore[attr-defined]
        message = error.format_message
        error.format_message = lambda: f"{message()} [USAGE_ERROR {error.error_id}]"  # type: ignore[attr-defined,method-assign]
    return error


class CommandGroup(typer.core.TyperGroup):
    """Global options anywhere on the line; commands listed in the order people use them."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(list(args)))

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        try:
            return super().make_context(*args, **kwargs)
        except ClickException as exc:
            raise _with_error_id(exc) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClickException as exc:
            raise _with_error_id(exc) from None

    def list_commands(self, ctx: Context) -> list[str]:
        names = list(self.commands)

        def order(name: str) -> tuple[int, int]:
            panel = getattr(self.commands[name], "rich_help_panel", None)
            return (PANELS.index(panel) if panel in PANELS else len(PANELS), names.index(name))

        return sorted(names, key=order)

    def get_command(self, ctx: Context, name: str) -> Command | None:
        return _plain_flags(super().get_command(ctx, name))

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        return _plain_flags_option(super().get_help_option(ctx))


def _plain_flags_option(option: Any) -> Any:
    if option is not None:
        option.metavar = ""
    return option


app = typer.Typer(
    name="apiinv",
    cls=CommandGroup,
    help="Collect, normalize and report the API inventory held by API-security and API-management tools.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def console() -> Console:
    """The running command's console (timestamped without a terminal, JSON with --log-json), so that
    error lines join the timeline like every other line; a default one before options are read."""
    ctx = get_current_context(silent=True)
    runtime = ctx.find_object(Runtime) if ctx else None
    return runtime.console() if runtime else Console()


def echo_error(message: str) -> None:
    console().problem(f"apiinv: {message}")


def report_error(exc: ApiInvError) -> None:
    """An error as its console lines (each problem of a configuration, then one line with its code and
    id) and one log record."""
    from apiinv.logs import get_logger

    get_logger("cli").error("%s", exc, extra={"error_id": exc.error_id, "code": exc.code, "file_only": True})
    problems = exc.problems if isinstance(exc, ConfigurationError) else [exc.message]
    if problems != [exc.message]:
        for problem in problems:
            console().problem(problem)
    echo_error(f"{exc} [{exc.code} {exc.error_id}]")


def command(fn: Callable[..., Any]) -> Callable[..., None]:
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
        except ApiInvError as exc:
            report_error(exc)
            raise typer.Exit(exit_status_for(exc)) from None
        except KeyboardInterrupt:
            echo_error("interrupted")
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

            echo_error(
                f"unexpected error: {type(exc).__name__}: {redact(str(exc))[:300]} [{error_id}; "
                "traceback in the log]"
            )
            raise typer.Exit(ExitStatus.ERROR) from None
        raise typer.Exit(int(status or 0))

    return wrapper


def runtime_of(ctx: typer.Context) -> Runtime:
    return ctx.ensure_object(Runtime)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"apiinv {__version__}")
        raise typer.Exit()


def parse_date(value: str | None) -> date | None:
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
    # The demo's simulated data never lands in the output cron uses (APIINV_OUTPUT's included): only
    # --output on its command line moves it. (Typer ships its own click: its enum, compared by name.)
    output_source = getattr(ctx.get_parameter_source("output"), "name", None)
    if ctx.invoked_subcommand == "demo" and output_source != "COMMANDLINE":
        from apiinv.pipeline.demo import DEMO_OUTPUT

        output = DEMO_OUTPUT
    runtime = Runtime(
        config_dir=config_dir,
        output=output,
        env_file=env_file,
        run_date=parse_date(run_date),
        log_level=log_level.upper(),
        quiet=quiet,
        log_json=log_json,
    )
    ctx.obj = runtime


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


FullOption = Annotated[
    bool, typer.Option("--full", help="Fetch everything again; reuse nothing from the last collection.")
]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the HTTP cache.")]


def main() -> None:
    memory.fewer_heaps()  # before any thread is started
    app(prog_name="apiinv")
