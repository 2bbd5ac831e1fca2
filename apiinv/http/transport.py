"""The adapters every request of a tool is sent through: each answer read whole within its deadline and
the size cap, and those that reach the network (cache hits do not) paced and counted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.poolmanager import ProxyManager

from apiinv.errors import ResponseTooLargeError
from apiinv.http.cache import RUN_DATE_HEADER
from apiinv.http.deadline import ToolClock, Watchdog, watched
from apiinv.http.ratelimit import RateLimiter, SharedPause
from apiinv.http.stats import RequestStats
from apiinv.redact import redact_url

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

USER_AGENT = "apiinv"

# What requests passes HTTPAdapter.send: a number, or a (connect, read) pair.
Timeout = float | tuple[float, float] | tuple[float, None] | None
Cert = bytes | str | tuple[bytes | str, bytes | str] | None


class BoundedAdapter(HTTPAdapter):
    """Every answer read whole, within its deadline and the size cap. The deadline covers connect, status
    line, headers and body (a watchdog shuts the socket when it passes), and is the tool's own when
    that comes first; past the tool's deadline nothing more is sent."""

    def __init__(self, tool: ToolConfig, clock: ToolClock, **kwargs: Any) -> None:
        super().__init__(max_retries=0, **kwargs)
        self.tool = tool
        self.clock = clock

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> ProxyManager:
        manager: ProxyManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        watched(manager)
        return manager

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: Cert = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self.tool.verify is not True:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own CA bundle or
            # verify_tls: false (psf/requests#3829); the tool's own setting is what it asked for.
            verify = self.tool.verify
        seconds, tool_ends_it = self.clock.request_limit()
        timeout = _connect_within(timeout, seconds)
        where = f"{request.method} {redact_url(request.url or '')}"
        with Watchdog(seconds) as watchdog:
            response = None
            try:
                response = super().send(
                    request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies
                )
                content = self._read_bounded(response, where)
            except Exception:
                if watchdog.fired:
                    raise self._late(where, tool_ends_it) from None
                raise
            finally:
                if response is not None:
                    response.close()
            if watchdog.fired:  # an answer without a length ends where the watchdog cut it
                raise self._late(where, tool_ends_it)
        response._content = content
        return response

    def _late(self, where: str, tool_ends_it: bool) -> Exception:
        if tool_ends_it:
            return self.clock.passed()
        return ResponseTooLargeError(
            f"{where}: no whole answer (connect, status line, headers and body) within request_deadline "
            f"{self.tool.request_deadline:g}s; stopped waiting",
            tool=self.tool.name,
        )

    def _read_bounded(self, response: requests.Response, where: str) -> bytes:
        tool, cap = self.tool, int(self.tool.max_response_mb * 1024 * 1024)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ResponseTooLargeError(
                f"{where}: answer of {int(declared):,} bytes is over max_response_mb "
                f"{tool.max_response_mb:g}",
                tool=tool.name,
            )
        parts, size = [], 0
        try:
            while chunk := response.raw.read1(65536, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLargeError(
                        f"{where}: answer passed max_response_mb {tool.max_response_mb:g}; stopped reading",
                        tool=tool.name,
                    )
                parts.append(chunk)
        except ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc) from None
        except DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        response._content_consumed = True  # type: ignore[attr-defined]  # what Response.content sets
        return b"".join(parts)


def _connect_within(timeout: Timeout, seconds: float) -> Timeout:
    """``timeout`` with its connect part cut to ``seconds``: a connection never waits past the deadline
    to be made."""
    if not isinstance(timeout, tuple):
        return timeout
    connect, read = timeout
    if read is None:
        return min(connect, seconds), None
    return min(connect, seconds), read


class CountingAdapter(BoundedAdapter):
    """Only requests that reach the network pass here (cache hits do not): the place to rate-limit and
    count them, and to stamp each answer with the run date it was fetched for."""

    def __init__(
        self,
        limiter: RateLimiter,
        stats: RequestStats,
        pool_size: int,
        tool: ToolConfig,
        clock: ToolClock,
        pause: SharedPause,
        run_date: str = "",
    ) -> None:
        super().__init__(tool, clock, pool_connections=2, pool_maxsize=pool_size)
        self.limiter = limiter
        self.stats = stats
        self.pause = pause
        self.run_date = run_date

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Timeout = None,
        verify: bool | str = True,
        cert: Cert = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        left = self.clock.left  # waits end when the tool's time does
        self.stats.add("rate_limit_wait", self.pause.wait(left()))
        self.stats.add("rate_limit_wait", self.limiter.acquire(left()))
        self.stats.add("rate_limit_wait", self.pause.wait(left()))  # one begun while this waited its turn
        self.stats.add("requests")
        response = super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )
        if response.status_code == 304:
            self.stats.add("revalidated")
        # The run date an answer was fetched for travels with it into the cache (see ResponseCache.send).
        response.headers[RUN_DATE_HEADER] = self.run_date
        return response


class NoRedirectSession(requests.Session):
    """For token endpoints: a redirect is answered as it is, never followed with the client's secret."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def mount(session: requests.Session, adapter: HTTPAdapter, tool: ToolConfig) -> None:
    """``session`` sends through ``adapter`` only, verifying TLS as the tool asks."""
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.verify = tool.verify
    session.headers["User-Agent"] = USER_AGENT
