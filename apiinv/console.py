"""Where a command's lines go: results and reports on stdout; progress and problems on stderr.

``--quiet`` keeps problems only (one line each), so a quiet run that went well prints nothing. Without
a terminal (cron, systemd, a pipe) progress and problem lines carry a UTC timestamp, so a log that
collects them reads as a timeline; with ``--log-json`` they are JSON lines, like the log's. Every line
goes through ``printable``: vendor text in it (names, error answers) can neither move the cursor,
retitle the terminal nor forge a line.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import typer

from apiinv.redact import printable


class Console:
    def __init__(self, *, quiet: bool = False, timestamps: bool | None = None, json: bool = False) -> None:
        self.quiet = quiet
        self.json = json
        self.timestamps = json or ((not sys.stderr.isatty()) if timestamps is None else timestamps)

    def _line(self, line: str, level: int = logging.INFO) -> str:
        """One line as it is shown: escaped, and timestamped when no person watches."""
        if self.json:
            from apiinv.logs import JsonLinesFormatter

            return JsonLinesFormatter().format(
                logging.LogRecord("apiinv.console", level, "", 0, line, None, None)
            )
        line = printable(line)
        if not self.timestamps:
            return line
        return f"{datetime.now(UTC).isoformat(timespec='seconds').replace('+00:00', 'Z')} {line}"

    def result(self, line: str) -> None:
        """What the command was asked for: a table, a file written, a report. Plain for a pipe or a
        person; stamped line by line when stdout goes to the same log as stderr (cron's ``>> LOG 2>&1``),
        so that log stays one timeline."""
        if self.quiet:
            return
        if self.timestamps and _one_file(sys.stdout, sys.stderr):
            for part in line.split("\n"):
                typer.echo(self._line(part))
        else:
            typer.echo(printable(line, lines=True))

    def progress(self, line: str) -> None:
        """How it goes: a tool done, a mail sent."""
        if not self.quiet:
            typer.echo(self._line(line), err=True)

    def problem(self, line: str) -> None:
        """What went wrong: always shown, one line each."""
        typer.echo(self._line(line, logging.ERROR), err=True)

    def outcome(self, line: str, ok: bool) -> None:
        (self.progress if ok else self.problem)(line)


def _one_file(first: object, second: object) -> bool:
    """Whether two streams append to one regular file (a log both are redirected to)."""
    import os
    import stat

    try:
        a, b = os.fstat(first.fileno()), os.fstat(second.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False  # not a real file (a test's capture, a closed stream)
    return stat.S_ISREG(a.st_mode) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
