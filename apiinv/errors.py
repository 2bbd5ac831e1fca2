"""The one exception tree of apiinv and the exit codes it maps to.

Library code raises these; only ``cli.py`` turns them into an exit status, through ``exit_status_for``.
"""

from __future__ import annotations

import errno
import uuid
from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIGURATION = 3
    ALL_FAILED = 4
    PARTIAL = 5
    VALIDATION = 6
    LOCKED = 75


class ApiInvError(Exception):
    """Base of every error apiinv reports on purpose.

    Each instance carries an ``error_id`` that appears in the console line, the log and the manifest,
    so that an operator can find one failure in all three.
    """

    code = "APIINV_ERROR"
    exit_status = ExitStatus.ERROR

    def __init__(self, message: str, *, tool: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self._message = message
        self.tool = tool
        self.context = context
        self.error_id = uuid.uuid4().hex[:12]

    @property
    def message(self) -> str:
        """The message with every secret known by now masked: whatever prints it, nothing leaks."""
        from apiinv.redact import redact

        return redact(self._message)

    def __str__(self) -> str:
        prefix = f"{self.tool}: " if self.tool else ""
        return prefix + self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, tool={self.tool!r})"

    def as_record(self) -> dict[str, Any]:
        from apiinv.redact import redact

        return {
            "id": self.error_id,
            "code": self.code,
            "tool": self.tool,
            "message": self.message,
            "context": {k: redact(str(v)) for k, v in self.context.items()},
        }


class UsageError(ApiInvError):
    """A command-line value the library itself had to reject (a malformed TOOL=VALUE option, say)."""

    code = "USAGE_ERROR"
    exit_status = ExitStatus.USAGE


class ConfigurationError(ApiInvError):
    """planner.yaml or tools.yaml is unreadable, invalid or refers to something that is not there."""

    code = "CONFIGURATION_ERROR"
    exit_status = ExitStatus.CONFIGURATION

    def __init__(self, message: str, *, problems: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.problems = problems or [message]


class MissingSecretError(ConfigurationError):
    code = "MISSING_SECRET"


class CollectionError(ApiInvError):
    """A tool's inventory could not be fetched."""

    code = "DATA_COLLECTION_ERROR"
    exit_status = ExitStatus.ALL_FAILED


class AuthenticationError(CollectionError):
    code = "AUTHENTICATION_ERROR"


class RetriesExhaustedError(CollectionError):
    code = "RETRIES_EXHAUSTED"


class MalformedResponseError(CollectionError):
    code = "MALFORMED_RESPONSE"


class PaginationError(CollectionError):
    code = "PAGINATION_ERROR"


class TruncatedError(CollectionError):
    """A listing stopped at the page cap: the inventory would be incomplete, so it is not written."""

    code = "TRUNCATED"


class ForeignOriginError(CollectionError):
    """A redirect or next link pointed at an origin the tool does not trust with its credentials."""

    code = "FOREIGN_ORIGIN"


class ResponseTooLargeError(CollectionError):
    """An answer went past ``max_response_mb`` or did not arrive whole (connect, status line, headers
    and body) within ``request_deadline``: refused, not retried."""

    code = "RESPONSE_LIMIT"


class ToolDeadlineError(CollectionError):
    """A tool's collection went past ``tool_deadline``: it stops, its requests and retries with it."""

    code = "TOOL_DEADLINE"


class ItemsFailedError(CollectionError):
    """Some items' own calls (one API's spec or report, one proxy's revision, one parent's children)
    failed after retries: the tool's data is written with those items kept from its last good
    collection (or left out where there is none), each named in the manifest's ``failed_items`` and
    asked for again first next run. The tool is ``partial``; the run exits 5."""

    code = "ITEMS_FAILED"
    exit_status = ExitStatus.PARTIAL


def is_item_fault(exc: BaseException) -> bool:
    """Whether a failed call costs only the item it was for: a vendor that kept failing or answered
    nonsense for it. Refused credentials, a foreign origin, a cut listing or the tool's deadline are the
    whole tool's."""
    return isinstance(exc, CollectionError) and not isinstance(
        exc,
        AuthenticationError
        | ForeignOriginError
        | TruncatedError
        | PaginationError
        | ToolDeadlineError
        | ItemsFailedError,
    )


class UnexpectedToolError(CollectionError):
    """Anything a tool's collect or process raised that is not one of ours: that tool fails, the run
    goes on. The traceback is in the log file."""

    code = "TOOL_FAILED"


class NothingToReportError(CollectionError):
    """No tool has data for the date: reports are not written (a good earlier export stays)."""

    code = "NOTHING_TO_REPORT"


class DeliveryError(ApiInvError):
    """The report mail could not be sent (the report itself is written)."""

    code = "MAIL_DELIVERY_ERROR"


class NotifyError(DeliveryError):
    """A notify: target could not be reached (the run's outcome stands)."""

    code = "NOTIFY_DELIVERY_ERROR"


class DataValidationError(ApiInvError):
    code = "DATA_VALIDATION_ERROR"
    exit_status = ExitStatus.VALIDATION


class StoreError(ApiInvError):
    code = "OUTPUT_ERROR"


class OutputWriteError(StoreError):
    """A file of the output could not be written (a full disk, a read-only or over-quota folder): a
    failure of the tools whose file it was, so exit 4 when it stops a step of every tool."""

    code = "OUTPUT_WRITE_ERROR"
    exit_status = ExitStatus.ALL_FAILED


def os_reason(exc: OSError) -> str:
    """What went wrong with a file, in a few words ("disk full" rather than errno 28's wording)."""
    return "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))


class LockHeldError(ApiInvError):
    code = "LOCK_HELD"
    exit_status = ExitStatus.LOCKED


class RunLockHeldError(LockHeldError):
    """Another run of the schedule holds its lock: this one never started (unlike a date or export lock
    waited for in vain, which stops a run that did start)."""


def tool_failure(caught: Exception, tool: str, step: str) -> ApiInvError:
    """Any exception of one tool's step as that tool's failure: ours as they are, anything else (a bug,
    a library's surprise, a full disk) as an UnexpectedToolError; the caller logs its traceback."""
    if isinstance(caught, ApiInvError):
        caught.tool = caught.tool or tool
        return caught
    if isinstance(caught, OSError) and caught.filename:
        return StoreError(f"{step}: {caught.filename}: {os_reason(caught)}", tool=tool)
    return UnexpectedToolError(
        f"{step} failed unexpectedly: {type(caught).__name__}: {str(caught)[:200]}", tool=tool
    )


def exit_status_for(exc: BaseException) -> ExitStatus:
    if isinstance(exc, ApiInvError):
        return exc.exit_status
    return ExitStatus.ERROR


def status_for_outcomes(errors: list[ApiInvError | None]) -> ExitStatus:
    """Exit status of a step over several tools, from each tool's error (None when it went well):
    invalid data wins (6), then all failed (4), some failed (5), all well (0)."""
    failed = [e for e in errors if e is not None]
    if any(isinstance(e, DataValidationError) for e in failed):
        return ExitStatus.VALIDATION
    if not failed:
        return ExitStatus.OK
    # A tool whose data was written with some items kept from before is partial, never failed whole.
    whole = [e for e in failed if not isinstance(e, ItemsFailedError)]
    return ExitStatus.ALL_FAILED if len(whole) == len(errors) else ExitStatus.PARTIAL


def did_you_mean(name: str, known: Any) -> str:
    """'; did you mean 'kong'?' for a near miss among ``known``, else '': the tail of a message that names
    something unknown."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
