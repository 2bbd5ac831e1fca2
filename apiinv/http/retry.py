"""Retries: which outcomes deserve another try, and how long to wait before it.

The server's Retry-After (seconds or an HTTP date) wins, capped; otherwise jittered exponential
backoff. Used for every request a tool makes, token requests included.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import backoff
import requests

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRYABLE_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
F = TypeVar("F", bound=Callable[..., Any])


class RetryableResponse(Exception):
    """A response worth another try (429, 502-504, a body cut short)."""

    def __init__(self, response: requests.Response, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_wait(
    *, retry_after_cap: float, base: float = 0.5, ceiling: float = 30.0
) -> Generator[float, Any, None]:
    """backoff wait generator: the server's Retry-After when it gave one, else jittered exponential.
    backoff sends it each failed try's exception and waits what it yields."""
    attempt = 0
    outcome = yield 0.0  # backoff primes the generator with send(None) and drops what it yields first
    while True:
        after = outcome.retry_after if isinstance(outcome, RetryableResponse) else None
        if after is not None:
            delay = min(after, retry_after_cap)
        else:
            top = min(ceiling, base * 2**attempt)
            delay = top / 2 + random.uniform(0, top / 2)
        attempt += 1
        outcome = yield delay


def raise_for_retry(response: requests.Response) -> requests.Response:
    """Raise RetryableResponse for statuses worth another try; return the response otherwise."""
    if response.status_code in RETRY_STATUSES:
        after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableResponse(response, f"HTTP {response.status_code}", after)
    return response


def retrying(
    fn: F,
    *,
    max_retries: int,
    max_wait: float | Callable[[], float],
    retry_after_cap: float,
    base: float,
    on_backoff: Callable[[dict[str, Any]], None] | None = None,
) -> F:
    """``fn`` retried on RetryableResponse and network errors, within the tries and total wait given
    (``max_wait`` 0 is no limit; a callable is asked at each call, as for the time a tool has left)."""
    return backoff.on_exception(
        retry_wait,
        (RetryableResponse, *RETRYABLE_ERRORS),
        max_tries=max_retries + 1,
        max_time=max_wait if callable(max_wait) else (max_wait or None),
        jitter=None,
        on_backoff=on_backoff,  # type: ignore[arg-type]  # backoff's Details is a TypedDict of these keys
        logger=None,  # we log retries ourselves, with URLs redacted
        retry_after_cap=retry_after_cap,
        base=base,
    )(fn)
