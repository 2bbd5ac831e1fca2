"""The HTTP machinery the vendor simulators share: routing, a token-bucket rate limit, faults on
request, and a threaded keep-alive server that answers each request in one write (no Nagle stalls).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def int_arg(self, name: str, default: int) -> int:
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Fault hooks: wait before answering, cut the body short, or reset the connection.
    delay: float = 0.0
    cut_at: int | None = None
    reset: bool = False


def json_response(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON, **(headers or {})})


def error_response(code: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """A Google-style error body; ``extra`` adds fields such as status="RESOURCE_EXHAUSTED"."""
    return json_response({"error": {"code": code, "message": message, **extra}}, code, headers)


Handler = Callable[[Request], Response]


@dataclass
class Fault:
    """One injected misbehaviour for the next ``times`` requests whose path matches ``path``."""

    kind: str  # status | html502 | slow | reset | cut | truncate | expire_tokens
    times: int = 1
    path: str = ""
    status: int = 503
    delay: float = 0.0
    retry_after: str | None = None

    def matches(self, request: Request) -> bool:
        return self.times > 0 and (not self.path or re.search(self.path, request.path) is not None)


FAULT_KINDS = ("status", "html502", "slow", "reset", "cut", "truncate", "expire_tokens")


class TokenBucket:
    """The vendor side of a rate limit: ``per_minute`` tokens a minute, ``burst`` at most in the bucket."""

    def __init__(self, per_minute: float, burst: float | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(2.0, self.rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds until a token will be there."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class SimApp:
    """A vendor API: routes plus the behaviour every simulator shares (latency, faults, rate limit)."""

    name = "sim"
    retry_after_format = "seconds"  # or "date"

    def __init__(self, *, latency: float = 0.0, rate_limit: float | None = None) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.latency = latency
        self.bucket = TokenBucket(rate_limit) if rate_limit else None
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.arrivals: list[float] = []
        self.hits: dict[str, int] = {}
        self.throttled = 0
        # Requests refused that arrived while a Retry-After this app announced was still in force (and
        # long enough after it for the client to have heard): what a client that honours it never sends.
        self.ignored_retry_after = 0
        self._announced: tuple[float, float] = (0.0, 0.0)  # (when, until)

    # routing
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method, regex, handler))

    def inject(self, kind: str, **options: Any) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
        fault = Fault(kind, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def authenticate(self, request: Request) -> Response | None:
        """None when the request may proceed; subclasses check their vendor's credentials."""
        return None

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (subclasses that issue tokens)."""

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(request):
                    fault.times -= 1
                    return fault
        return None

    # Seconds for a 429 to reach a client on 127.0.0.1 and its other workers to notice: requests already
    # past their pause check are not ignoring it. On 2 busy cores (the test suite's two workers and their
    # threads) a worker can sit that long between its check and its send; a client that ignores
    # Retry-After still shows in the rest of the window (a whole second at least).
    HEARD_AFTER = 0.25

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            arrived = time.monotonic()
            self.arrivals.append(arrived)
            self.hits[request.path] = self.hits.get(request.path, 0) + 1
            announced, until = self._announced
            early = announced + self.HEARD_AFTER < arrived < until
        if self.latency:
            time.sleep(self.latency)
        if self.bucket is not None:
            wait = self.bucket.take()
            if wait > 0:
                with self.lock:
                    self.throttled += 1
                    self.ignored_retry_after += early
                return self.throttle(wait)
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "expire_tokens":
            self.expire_tokens()
            fault = None
        if fault is not None and fault.kind in ("status", "html502"):
            return self._fault_response(fault)
        response = self._route(request)
        if fault is not None:
            if fault.kind == "slow":
                response.delay = fault.delay or 5.0
            elif fault.kind == "reset":
                response.reset = True
            elif fault.kind == "cut":
                response.cut_at = max(1, len(response.body) // 2)
            elif fault.kind == "truncate":
                response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def _route(self, request: Request) -> Response:
        path_matched = False
        for method, regex, handler in self.routes:
            match = regex.match(request.path)
            if match is None:
                continue
            path_matched = True
            if method != request.method:
                continue
            denied = self.authenticate(request) if not getattr(handler, "public", False) else None
            if denied is not None:
                return denied
            request.params = match.groupdict()
            return handler(request)
        if path_matched:
            return error_response(405, "method not allowed")
        return error_response(404, f"no route for {request.path}")

    def throttle(self, wait: float) -> Response:
        seconds = max(1, int(wait + 0.999))
        with self.lock:
            now = time.monotonic()
            self._announced = (now, max(self._announced[1], now + seconds))
        value = (
            str(seconds)
            if self.retry_after_format == "seconds"
            else formatdate(time.time() + seconds, usegmt=True)
        )
        return error_response(429, "rate limit exceeded", {"Retry-After": value}, status="RESOURCE_EXHAUSTED")

    def _fault_response(self, fault: Fault) -> Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        if fault.kind == "html502":
            body = (
                b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
            )
            return Response(502, body, {"Content-Type": "text/html", **headers})
        return error_response(fault.status, HTTPStatus(fault.status).phrase, headers)

    # ground truth for tests
    def max_in_window(self, seconds: float) -> int:
        """The largest number of requests that arrived within any ``seconds``-long window."""
        times = sorted(self.arrivals)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] > seconds:
                start += 1
            best = max(best, end - start + 1)
        return best


def public(handler: Handler) -> Handler:
    """Mark a handler as needing no credentials (token endpoints, health)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.dispatch(request)
        except Exception as exc:  # a simulator bug must still answer, as a real server would
            response = error_response(500, f"simulator error: {type(exc).__name__}: {exc}")
        if response.delay:
            time.sleep(response.delay)
        if response.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        phrase = (
            HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else ""
        )
        head = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Content-Length: {len(response.body)}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body
        if response.cut_at is not None:
            payload = payload[: len(payload) - len(response.body) + response.cut_at]
            self.close_connection = True
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, app: SimApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        super().__init__((host, port), _RequestHandler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimServer:
        self.thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-{self.app.name}",
            daemon=True,
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
