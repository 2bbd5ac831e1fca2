"""Progress for people at a terminal (a live line per tool, gone when the summary is printed), plain
log lines for cron."""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager
from typing import Any

from apiinv.logs import get_logger

log = get_logger("progress")


class ToolProgress(AbstractContextManager):
    def __init__(self, verb: str, tools: list[str], *, quiet: bool = False) -> None:
        self.verb = verb
        self.live = sys.stderr.isatty() and not quiet
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        if self.live:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
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

    def start(self, tool: str) -> None:
        if self._progress is not None:
            with self._lock:
                self._progress.start_task(self._tasks[tool])
                self._progress.update(self._tasks[tool], description=f"{tool}: {self.verb}")
        else:
            log.info("%s %s", self.verb, tool, extra={"tool": tool})

    def done(self, outcome: Any) -> None:
        line = outcome.summary()
        if self._progress is not None:
            with self._lock:
                self._progress.update(self._tasks[outcome.tool], description=line, completed=1)
        else:
            # The command prints the same line on stdout when all tools are done; this one is for the log.
            log.log(20 if outcome.ok else 40, "%s", line, extra={"file_only": True})
