"""Progress of a step over several tools: a live line per tool on a terminal (gone when the step ends,
its outcome lines printed in their place); without a terminal, each tool's outcome line the moment it
is done, timestamped, so a cron log reads as a timeline."""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager
from typing import Any

from apiinv.console import Console
from apiinv.logs import get_logger
from apiinv.redact import printable

log = get_logger("progress")


def _shown(line: str) -> str:
    """A live line for rich: control characters escaped, and square brackets that rich would read as
    markup (a vendor's ``[link=...]`` or ``[/]`` in an error answer)."""
    from rich.markup import escape

    return escape(printable(line))


class ToolProgress(AbstractContextManager):
    def __init__(self, verb: str, tools: list[str], console: Console) -> None:
        self.verb = verb
        self.console = console
        self.live = sys.stderr.isatty() and not console.quiet
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._finished: list[Any] = []
        if self.live:
            from rich.console import Console as RichConsole
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=RichConsole(stderr=True),
                transient=True,
            )
            for tool in tools:
                self._tasks[tool] = self._progress.add_task(f"{tool}: waiting", total=1, start=False)

    def __enter__(self) -> ToolProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            for outcome in self._finished:
                self.console.outcome(outcome.summary(), outcome.ok)

    def start(self, tool: str) -> None:
        if self._progress is None:
            log.info("%s %s", self.verb, tool, extra={"tool": tool})
            return
        with self._lock:
            self._progress.start_task(self._tasks[tool])
            self._progress.update(self._tasks[tool], description=f"{tool}: {self.verb}")

    def done(self, outcome: Any) -> None:
        if self._progress is None:
            self.console.outcome(outcome.summary(), outcome.ok)
            return
        with self._lock:
            self._finished.append(outcome)
            self._progress.update(
                self._tasks[outcome.tool], description=_shown(outcome.summary()), completed=1
            )
