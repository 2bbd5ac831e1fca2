"""A hostile vendor for the security tests: a stdlib HTTP server on loopback whose routes misbehave on
purpose (redirects elsewhere, foreign next links, dripping and huge bodies, deep nesting, wrong shapes),
and which records every request it receives, headers included, so a test can prove what never arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ssl import SSLContext
from typing import Any
from urllib.parse import urlsplit

Route = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        self.server.received.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        route = self.server.routes.get(path)
        if route is None:
            self.send_json({"error": "not found"}, 404)
            return
        route(self)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    # answers
    def send_json(self, document: Any, status: int = 200) -> None:
        self.send_bytes(json.dumps(document).encode(), status)

    def send_bytes(self, body: bytes, status: int = 200, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def drip(self, body: bytes, every: float) -> None:
        """The body a byte at a time: each read is quick, the whole answer never ends in time."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for byte in body:
                if self.server.stopping.is_set():
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(every)
        except OSError:
            pass

    def drip_head(self, every: float) -> None:
        """The status line and then headers without end, a byte at a time: each read is quick, the
        answer never begins. Stops when the client hangs up or the server closes."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        try:
            while not self.server.stopping.is_set():
                for byte in head:
                    if self.server.stopping.is_set():
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(every)
                head = b"X-Slow: still coming\r\n"
        except OSError:
            pass

    def stream_chunked(self, chunk: bytes, count: int) -> None:
        """A chunked body with no Content-Length: its size is only known by reading it."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for _ in range(count):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        host: str = "127.0.0.1",
        routes: dict[str, Route] | None = None,
        *,
        tls: SSLContext | None = None,
    ) -> None:
        """``tls``: serve https with that server context (certs.server_context), else plain http."""
        super().__init__((host, 0), Handler)
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.routes: dict[str, Route] = dict(routes or {})
        self.received: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up on purpose (deadline, size cap) is what these tests want

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def headers_seen(self) -> list[dict[str, str]]:
        return [r["headers"] for r in self.received]

    def bytes_seen(self) -> bytes:
        return b"".join(
            json.dumps(r["headers"]).encode() + r["path"].encode() + r["body"] for r in self.received
        )

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


def nested(depth: int) -> Any:
    document: Any = "bottom"
    for _ in range(depth):
        document = {"x": document}
    return document


ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
