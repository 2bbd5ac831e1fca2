"""Logging: short lines for people on stderr, JSON lines for cron in output/logs/apiinv.log.

Both handlers pass through the redaction filter, so no handler can leak a secret that a message or a
traceback happened to carry; and both formatters escape control characters (``printable``), so no
vendor text can act on the terminal of whoever reads the lines.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from io import TextIOWrapper
from pathlib import Path
from typing import Any

from apiinv.redact import RedactingFilter, printable

LOGGER_NAME = "apiinv"
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
            "thread": record.threadName,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return printable(json.dumps(entry, default=str, ensure_ascii=False), json=True)


class ConsoleFormatter(logging.Formatter):
    """Short lines for people; timestamped when stderr is no terminal (cron, systemd, a pipe)."""

    def __init__(self) -> None:
        super().__init__()
        self.timestamps = not sys.stderr.isatty()

    def format(self, record: logging.LogRecord) -> str:
        tool = getattr(record, "tool", None)
        prefix = f"{tool}: " if tool else ""
        line = printable(f"{record.levelname.lower():7} {prefix}{record.getMessage()}")
        if self.timestamps:
            stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
            line = f"{stamp.replace('+00:00', 'Z')} {line}"
        if (
            record.exc_text
            and record.levelno >= logging.ERROR
            and logging.getLogger(LOGGER_NAME).isEnabledFor(logging.DEBUG)
        ):
            line += "\n" + printable(record.exc_text, lines=True)
        return line


def _not_file_only(record: logging.LogRecord) -> bool:
    """Records logged with ``extra={"file_only": True}`` were already told to the person another way."""
    return not getattr(record, "file_only", False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time: while a live progress display runs, that is the
    display's proxy, which prints the line above it. A handler holding the stream it was made with would
    write under the display, which then erases the wrong lines and leaves stale spinner lines behind."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Creates the log owner-readable only (the log names hosts and endpoints of the attack surface),
    never through a symlink. When the log cannot be written (full disk, read-only output), it says so
    once on stderr and then stays quiet instead of printing a traceback per record."""

    _failed = False

    def _open(self) -> TextIOWrapper:
        from apiinv.store import open_private

        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)  # rotation: always "a"

    def handleError(self, record: logging.LogRecord) -> None:
        if not self._failed:
            self._failed = True
            reason = sys.exc_info()[1]
            detail = getattr(reason, "strerror", None) or getattr(reason, "message", None) or reason
            sys.stderr.write(
                f"warning: cannot write the log {self.baseFilename} ({detail}); going on without it\n"
            )


def setup_logging(
    log_dir: Path | None,
    *,
    level: str = "INFO",
    quiet: bool = False,
    console_json: bool = False,
) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    redacting = RedactingFilter()

    console = _StderrHandler()
    console.setLevel(logging.ERROR if quiet else level.upper())
    console.setFormatter(JsonLinesFormatter() if console_json else ConsoleFormatter())
    console.addFilter(redacting)
    console.addFilter(_not_file_only)
    logger.addHandler(console)

    if log_dir is not None:
        from apiinv.errors import StoreError
        from apiinv.store import make_dirs

        try:
            make_dirs(log_dir)
        except StoreError as exc:
            sys.stderr.write(f"warning: {exc}; logging to the console only\n")
            return logger
        file_handler = _PrivateRotatingFileHandler(
            log_dir / "apiinv.log",
            maxBytes=10 * 1024 * 1024,
            backupCount=5,
            delay=True,
            encoding="utf-8",
            errors="backslashreplace",
        )
        file_handler.setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.INFO)
        file_handler.setFormatter(JsonLinesFormatter())
        file_handler.addFilter(redacting)
        logger.addHandler(file_handler)
    return logger


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
