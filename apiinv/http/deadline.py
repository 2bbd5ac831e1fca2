"""Deadlines: each request's (``request_deadline``: connect, status line, headers and body) and each
tool's (``tool_deadline``: the wall time of its whole collection).

A socket timeout bounds each read alone, so a server dripping its status line, headers or body a byte
at a time would hold a request for ever. A watchdog timer therefore shuts the request's socket down when
its deadline passes, whatever the client is doing with it then (connecting, the TLS handshake, parsing
headers, reading the body); the connections of the pools below show it their socket.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager
from urllib3.poolmanager import pool_classes_by_scheme as default_pool_classes

from apiinv.errors import ToolDeadlineError

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

_LONGEST = threading.TIMEOUT_MAX / 2  # seconds: any later deadline is as good as none
_sending = threading.local()  # .watchdog: the Watchdog of the request this thread is sending, if any


class Watchdog:
    """Shuts down the socket of the request this thread sends once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.ended = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        # Past TIMEOUT_MAX a wait raises, and a NaN would break the alarms' order for every request.
        self._seconds = min(seconds, _LONGEST) if seconds > 0 else 0.0

    def __enter__(self) -> Watchdog:
        _sending.watchdog = self
        _alarms.add(time.monotonic() + self._seconds, self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.ended = True
            self._socket = None
        _sending.watchdog = None
        _alarms.one_ended()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
            if self.fired:  # it passed while connecting
                _shut(sock)

    def fire(self) -> None:
        with self._lock:
            if self.ended:
                return
            self.fired = True
            if self._socket is not None:
                _shut(self._socket)


class _Alarms:
    """One thread that fires every watchdog whose time has come. A timer thread per request started and
    stopped an operating-system thread for each request, and left each one's objects to the cycle
    collector (about 30 per request: 630,000 after a 10,000-API first crawl)."""

    # Requests that ended before their deadline stay queued until it: dropped every this many ends.
    PRUNE_EVERY = 10_000

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()
        self._ends = 0
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def add(self, at: float, watchdog: Watchdog) -> None:
        with self._wake:
            heapq.heappush(self._due, (at, next(self._order), watchdog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="apiinv-watchdog", daemon=True)
                self._thread.start()
            elif self._due[0][2] is watchdog:  # sooner than what the thread waits for
                self._wake.notify()

    def one_ended(self) -> None:
        with self._wake:
            self._ends += 1
            if self._ends >= self.PRUNE_EVERY:
                self._due = [entry for entry in self._due if not entry[2].ended]
                heapq.heapify(self._due)
                self._ends = 0

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    heapq.heappop(self._due)[2].fire()
                self._wake.wait(self._due[0][0] - now if self._due else None)


_alarms = _Alarms()


def _forked() -> None:
    # A forked child has none of the parent's threads, and its locks may have been held at the fork.
    global _alarms
    _alarms = _Alarms()


os.register_at_fork(after_in_child=_forked)


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: it wakes a read blocked in another thread, which then sees the end of the stream.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _show_to_watchdog(sock: socket.socket) -> None:
    watchdog = getattr(_sending, "watchdog", None)
    if watchdog is not None:
        watchdog.watch(sock)


class _WatchedConnection(HTTPConnection):
    """A connection that shows its socket to the watchdog of each request it carries."""

    _guard: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        # A second handle on the same socket: TLS takes the first one over, this one can still shut it.
        self._guard = sock.dup()
        _show_to_watchdog(self._guard)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self._guard is not None:  # a kept-alive connection, carrying another request
            _show_to_watchdog(self._guard)
        super().request(*args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._guard is not None:
                self._guard.close()
                self._guard = None


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def watched(manager: PoolManager) -> PoolManager:
    """``manager`` with connections the watchdog can shut (a SOCKS proxy's own pools are left as they are)."""
    if manager.pool_classes_by_scheme is default_pool_classes:
        manager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}
    return manager


class ToolClock:
    """The time one tool's collection has left, and the deadline each of its requests gets from it."""

    def __init__(self, tool: ToolConfig) -> None:
        self.tool = tool
        self.ends_at = time.monotonic() + tool.tool_deadline

    def left(self) -> float:
        return self.ends_at - time.monotonic()

    def check(self) -> None:
        """Raise ToolDeadlineError once the tool's time is up: nothing more is sent, no retry waits."""
        if self.left() <= 0:
            raise self.passed()

    def passed(self) -> ToolDeadlineError:
        return ToolDeadlineError(
            f"collection passed tool_deadline {self.tool.tool_deadline:g}s; stopped "
            "(raise tool_deadline in tools.yaml if the tool is only large or slow)",
            tool=self.tool.name,
        )

    def request_limit(self) -> tuple[float, bool]:
        """Seconds the next request may take, and whether the tool's deadline (rather than
        ``request_deadline``) is what ends it."""
        self.check()
        left = self.left()
        if left < self.tool.request_deadline:
            return left, True
        return self.tool.request_deadline, False
