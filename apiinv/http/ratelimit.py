"""A client-side rate limiter shared by every worker thread of one tool."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """At most ``per_minute`` requests a minute, evenly spaced.

    Each caller reserves the next free slot under a lock and sleeps outside it, so threads never
    serialise on the sleep and no burst can exceed the rate in any window.
    """

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.interval = 60.0 / per_minute
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            delay = slot - now
            self.waited += delay
        if delay > 0:
            time.sleep(delay)
        return delay


class SharedPause:
    """A tool's back-off shared by all its workers: after a 429 or 503 with Retry-After, nobody sends
    to that vendor before the time it gave (each worker alone would be refused again)."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def hold_for(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> float:
        """Sleep until the pause is over; the seconds waited."""
        with self._lock:
            delay = self._until - time.monotonic()
        if delay <= 0:
            return 0.0
        time.sleep(delay)
        return delay
