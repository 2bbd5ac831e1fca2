"""planner.yaml to crontab: list, render, install and remove the schedules.

The entries live in one marked block of a user's crontab; installing replaces that block (so twice
gives one block) and keeps every other line as it was. Each entry runs the installed apiinv by its
absolute path as `run --schedule NAME`; `run` reads the schedule's action, tools and mail from
planner.yaml at run time.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apiinv.config import ACTION_STEPS, Config, Planner, Schedule
from apiinv.cron import MACROS
from apiinv.errors import ConfigurationError, UsageError

BEGIN = "# BEGIN apiinv"
END = "# END apiinv"
HEADER = (
    "# Managed by `apiinv schedule install` from {planner}. Edit planner.yaml, then install again;\n"
    "# keep this block last: its CRON_TZ line would apply to the lines after it."
)
CRON_PATH = "/usr/local/bin:/usr/bin:/bin"


def describe(expression: str) -> str:
    """The expression in words ("At 02:00, only on Sunday"), by cron-descriptor."""
    from cron_descriptor import CasingTypeEnum, ExpressionDescriptor, Options

    if expression == "@reboot":
        return "at boot"
    options = Options()
    options.use_24hour_time_format = True
    options.casing_type = CasingTypeEnum.Sentence
    try:
        return str(ExpressionDescriptor(MACROS.get(expression, expression), options).get_description())
    except Exception:  # an expression validate-config would refuse: show it as it is
        return f"cron {expression}"


def next_runs(
    schedule: Schedule, planner: Planner, count: int = 3, *, now: datetime | None = None
) -> list[datetime]:
    from croniter import croniter

    start = now or datetime.now(planner.tzinfo()).astimezone(planner.tzinfo())
    iterator = croniter(schedule.cron, start)
    return [iterator.get_next(datetime) for _ in range(count)]


def _cron_quote(value: str) -> str:
    """Quoted for the shell cron runs, with % escaped (cron turns a bare % into a newline)."""
    return shlex.quote(value).replace("%", "\\%")


def installed_apiinv() -> Path:
    """The absolute path of this installation's apiinv executable (the virtual environment's)."""
    candidate = Path(sys.executable).parent / "apiinv"
    if candidate.is_file():
        return candidate.absolute()
    found = shutil.which("apiinv")
    if found:
        return Path(found).absolute()
    raise UsageError("apiinv is not installed as a command (run: make install); cron needs its absolute path")


def running_apiinv() -> Path:
    """The apiinv executable running now, absolute: hints a user pastes must work where it is not on PATH."""
    candidate = Path(sys.executable).parent / "apiinv"
    return candidate.absolute() if candidate.is_file() else Path(sys.argv[0]).resolve()


CRON_ENV = ".venv-cron"


def cron_apiinv() -> Path:
    """The apiinv the scheduled lines run: from a development checkout, the locked build install_cron.sh
    makes beside it (``.venv-cron``, never the editable ``.venv``); otherwise this installation's own."""
    checkout = Path(__file__).resolve().parents[2]
    runtime = checkout / CRON_ENV
    if (checkout / "install_cron.sh").is_file() and Path(sys.prefix).resolve() != runtime.resolve():
        return runtime / "bin" / "apiinv"
    return installed_apiinv()


def unready_tools(config: Config, planner: Planner) -> list[str]:
    """One line per tool an enabled, collecting schedule names that lacks settings or credentials (a
    job that would fail every night)."""
    lines = []
    for name, schedule in planner.schedules.items():
        if not schedule.enabled or "collect" not in ACTION_STEPS[schedule.action]:
            continue
        for tool in config.select(schedule.tools):
            missing = [*tool.missing_settings, *tool.missing_vars]
            if missing:
                lines.append(f"schedule {name}: tool {tool.name} lacks {', '.join(missing)}")
    return lines


@dataclass
class Rendered:
    block: str
    entries: int


def render(
    planner: Planner, *, config_dir: Path, output: Path, planner_file: Path, executable: Path | None = None
) -> Rendered:
    apiinv = executable or cron_apiinv()
    config_dir, output = config_dir.absolute(), output.absolute()
    lines = [BEGIN, HEADER.format(planner=planner_file.absolute())]
    if planner.timezone:
        lines.append(f"CRON_TZ={planner.timezone}")
    entries = 0
    for name, schedule in planner.schedules.items():
        if not schedule.enabled:
            lines.append(f"# {name}: disabled in planner.yaml")
            continue
        log = output / "logs" / f"cron-{name}.log"
        command = (
            # cron's umask would leave output/, logs/ and the cron log readable by all: the inventory
            # maps the attack surface.
            f"umask 077 && mkdir -p {_cron_quote(str(log.parent))} && cd {_cron_quote(str(config_dir))} && "
            f"PATH={CRON_PATH} {_cron_quote(str(apiinv))} "
            f"--config-dir {_cron_quote(str(config_dir))} --output {_cron_quote(str(output))} "
            f"run --schedule {name} --workers {schedule.workers} >> {_cron_quote(str(log))} 2>&1"
        )
        lines.append(
            f"# {name}: {schedule.action}, {describe(schedule.cron)}; tools: {', '.join(schedule.tools)}"
        )
        lines.append(f"{schedule.cron} {command}")
        entries += 1
    lines.append(END)
    return Rendered("\n".join(lines) + "\n", entries)


def without_block(crontab: str) -> str:
    """The crontab with apiinv's block taken out, every other line untouched."""
    kept, inside = [], False
    for line in crontab.splitlines(keepends=True):
        if line.rstrip("\n") == BEGIN:
            inside = True
            continue
        if inside:
            if line.rstrip("\n") == END:
                inside = False
            continue
        kept.append(line)
    if inside:
        raise ConfigurationError(
            "the crontab has '# BEGIN apiinv' without '# END apiinv'; fix it by hand "
            "(crontab -e) before installing"
        )
    text = "".join(kept)
    return text if not text or text.endswith("\n") else text + "\n"


def with_block(crontab: str, block: str) -> str:
    return without_block(crontab) + block


class Crontab:
    """The real `crontab` command, for the invoking user or (as root) another one."""

    def __init__(self, user: str | None = None) -> None:
        binary = shutil.which("crontab")
        if binary is None:
            raise UsageError("crontab is not installed (Debian: apt-get install cron); nothing was changed")
        self.binary: str = binary
        self.user = user

    def _argv(self, *args: str) -> list[str]:
        return [self.binary, *(["-u", self.user] if self.user else []), *args]

    def read(self) -> str:
        result = subprocess.run(self._argv("-l"), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            if "no crontab" in result.stderr.lower():
                return ""
            raise UsageError(f"crontab -l failed: {result.stderr.strip()}")
        return result.stdout

    def write(self, content: str) -> None:
        result = subprocess.run(self._argv("-"), input=content, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise UsageError(f"crontab refused the new table: {result.stderr.strip()}")
