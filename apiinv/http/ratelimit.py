"""A client-side rate limiter shared by every worker thread of one tool."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    """At most ``per_minute`` requests a minute, evenly spaced, and slower while the vendor says so.

    Each caller reserves the next free slot under a lock and sleeps outside it, so threads never
    serialise on the sleep and no burst can exceed the rate in any window. The pace adapts as TCP's
    does: a 429 while requests stream halves it (from the rate actually sent when tools.yaml set
    none), and each run of successes raises it a tenth, never above the configured rate. A vendor whose
    limit is lower than configured, or unknown, then refuses a few requests per run instead of a burst
    after every Retry-After.
    """

    MIN_PER_MINUTE = 6.0
    WINDOW = 5.0  # seconds of sends the measured rate looks at
    RAISE_AFTER = 10  # successes between two raises
    MIN_SAMPLE = 8  # requests in the window before a refusal changes the pace

    def __init__(self, per_minute: float | None) -> None:
        if per_minute is not None and per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.ceiling = per_minute
        self.per_minute = per_minute
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self._sent: deque[float] = deque(maxlen=512)
        self._successes = 0
        self._decreased = -1e9
        self.waited = 0.0

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute if self.per_minute else 0.0

    def acquire(self, at_most: float = float("inf")) -> float:
        """Wait for this request's slot (at most ``at_most`` seconds, the time its tool has left); the
        seconds waited."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot) if self.per_minute else now
            self._next_slot = slot + self.interval
            self._sent.append(slot)
            delay = slot - now
            self.waited += delay
        delay = min(delay, max(at_most, 0.0))
        if delay > 0:
            time.sleep(delay)
        return delay

    def throttled(self) -> None:
        """The vendor refused a request for its rate (429): halve the pace."""
        with self._lock:
            now = time.monotonic()
            # The requests of one burst are refused together: that is one signal, not one per request.
            if now - self._decreased < max(1.0, 2 * self.interval):
                return
            recent = [t for t in self._sent if now - self.WINDOW <= t <= now]
            if len(recent) < self.MIN_SAMPLE:  # a refusal or two of a slow crawl say nothing of a rate
                return
            self._decreased = now
            measured = 60.0 * len(recent) / max(1.0, now - recent[0]) if recent else None
            paces = [rate for rate in (self.per_minute, measured) if rate]
            if paces:
                self.per_minute = max(self.MIN_PER_MINUTE, min(paces) / 2)
            self._successes = 0

    def succeeded(self) -> None:
        """A request went through: after a run of them, a little faster (up to the configured rate)."""
        with self._lock:
            if self.per_minute is None or self.per_minute == self.ceiling:
                return
            self._successes += 1
            if self._successes >= self.RAISE_AFTER:
                self._successes = 0
                raised = self.per_minute * 1.1
                self.per_minute = min(raised, self.ceiling) if self.ceiling else raised


class SharedPause:
    """A tool's back-off shared by all its workers: after a 429 or 503 with Retry-After, nobody sends
    to that vendor before the time it gave (each worker alone would be refused again)."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def hold_for(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self, at_most: float = float("inf")) -> float:
        """Sleep until the pause is over, or ``at_most`` seconds; the seconds waited."""
        with self._lock:
            delay = min(self._until - time.monotonic(), at_most)
        if delay <= 0:
            return 0.0
        time.sleep(delay)
        return delay
