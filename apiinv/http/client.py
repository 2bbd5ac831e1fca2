"""The one HTTP client every source uses: a session per tool instance with its cache, auth, retries,
rate limit and pagination. Secrets never leave through it: credentials go only to the tool's own
origin (redirects and next links elsewhere are refused), URLs are redacted before logging, auth headers
are left out of stored responses, cache keys carry a keyed fingerprint of the credentials instead, and
token endpoints are never cached and never redirected.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import math
import os
import re
import sqlite3
import stat
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from apiinv.bounds import check_nesting
from apiinv.errors import (
    AuthenticationError,
    CollectionError,
    MalformedResponseError,
    ResponseTooLargeError,
    RetriesExhaustedError,
)
from apiinv.http.auth import make_auth
from apiinv.http.deadline import ToolClock, Watchdog, watched
from apiinv.http.origin import OriginPolicy, PinnedAuth, shown
from apiinv.http.paginate import Paginator, dig, make_paginator
from apiinv.http.ratelimit import RateLimiter, SharedPause
from apiinv.http.retry import RETRYABLE_ERRORS, RetryableResponse, raise_for_retry, retrying
from apiinv.logs import get_logger
from apiinv.redact import holds_secret, redact, redact_url
from apiinv.store import make_dirs

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

log = get_logger("http")

# Headers that carry credentials: never stored with a cached response (the tool's own key header is
# added per tool). Credentials never travel in query strings, so no query parameter is dropped from the
# cache key: a page token named ``token`` must keep its pages apart.
SECRET_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")
USER_AGENT = "apiinv"
MAX_REDIRECTS = 5


# Stamped on every answer before the cache stores it: the run date it was fetched for.
RUN_DATE_HEADER = "X-Apiinv-Run-Date"


@dataclass
class RequestStats:
    """What one tool's client did; thread-safe, reported in the manifest."""

    requests: int = 0
    cache_hits: int = 0
    revalidated: int = 0  # answered 304 Not Modified: the body came from the cache, not the wire
    retries: int = 0
    pages: int = 0
    auth_refreshes: int = 0
    rate_limit_wait: float = 0.0
    stops: Counter[str] = field(default_factory=Counter)
    truncated: list[str] = field(default_factory=list)  # "listing (why)": stopped before their end
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def stopped(self, reason: str, *, truncated: str | None = None) -> None:
        with self._lock:
            self.stops[reason] += 1
            if truncated is not None:
                self.truncated.append(f"{truncated} ({reason})")

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "revalidated": self.revalidated,
            "retries": self.retries,
            "pages": self.pages,
            "auth_refreshes": self.auth_refreshes,
            "rate_limit_wait_s": round(self.rate_limit_wait, 3),
            "pagination_stops": dict(self.stops),
        }


class _BoundedAdapter(HTTPAdapter):
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

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return watched(super().proxy_manager_for(proxy, **proxy_kwargs))

    def send(self, request, stream=False, timeout=None, **kwargs):  # type: ignore[override]
        if self.tool.verify is not True:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own CA bundle or
            # verify_tls: false (psf/requests#3829); the tool's own setting is what it asked for.
            kwargs["verify"] = self.tool.verify
        seconds, tool_ends_it = self.clock.request_limit()
        if isinstance(timeout, tuple):  # a connection never waits past the deadline to be made
            timeout = (min(timeout[0], seconds), timeout[1])
        where = f"{request.method} {redact_url(request.url)}"
        with Watchdog(seconds) as watchdog:
            response = None
            try:
                response = super().send(request, stream=True, timeout=timeout, **kwargs)
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
        from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

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


class _CountingAdapter(_BoundedAdapter):
    """Only requests that reach the network pass here (cache hits do not): the place to rate-limit and
    count them."""

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

    def send(self, request, stream=False, **kwargs):  # type: ignore[override]
        left = self.clock.left  # waits end when the tool's time does
        self.stats.add("rate_limit_wait", self.pause.wait(left()))
        self.stats.add("rate_limit_wait", self.limiter.acquire(left()))
        self.stats.add("rate_limit_wait", self.pause.wait(left()))  # one begun while this waited its turn
        self.stats.add("requests")
        response = super().send(request, stream=stream, **kwargs)
        if response.status_code == 304:
            self.stats.add("revalidated")
        # The run date an answer was fetched for travels with it into the cache (see _send_no_redirect).
        response.headers[RUN_DATE_HEADER] = self.run_date
        return response


class _NoRedirectSession(requests.Session):
    """For token endpoints: a redirect is answered as it is, never followed with the client's secret."""

    def request(self, method, url, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


class HttpClient:
    """One tool instance's client. Thread-safe: the collector's worker pool shares it."""

    def __init__(
        self,
        tool: ToolConfig,
        *,
        cache_dir: Path | None = None,
        cache_namespace: str = "",
        refresh: bool = False,
        pool_size: int | None = None,
        private_paths: tuple[str, ...] = (),
    ) -> None:
        self.tool = tool
        self.stats = RequestStats()
        self._private = re.compile("|".join(f"(?:{p})" for p in private_paths)) if private_paths else None
        self.clock = ToolClock(tool)  # the tool's collection starts with its client
        self.limiter = RateLimiter(tool.rate_limit or None)
        self.policy = OriginPolicy(tool.base_url, tool.allowed_hosts, tool=tool.name)
        pool_size = pool_size or max(tool.concurrency, 4)
        self.session = self._make_session(tool, cache_dir, cache_namespace, self._storable)
        self.plain_session = requests.Session()  # stands in if the cache database breaks mid-run
        self._cached = hasattr(self.session, "cache")
        # --refresh: ignore what the cache holds for this date, but store the fresh answers.
        self._refresh = refresh
        # Until one answer came from the vendor itself, credentials are unproven: a revoked key must
        # not be answered from the cache.
        self._proven = threading.Event()
        self.pause = SharedPause()
        self.run_date = cache_namespace
        adapter = _CountingAdapter(
            self.limiter, self.stats, pool_size, tool, self.clock, self.pause, cache_namespace
        )
        for session in (self.session, self.plain_session):
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.verify = tool.verify
            session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        # Tokens come from a plain session: token endpoints are never cached and never redirected.
        self.token_session = _NoRedirectSession()
        self.token_session.headers["User-Agent"] = USER_AGENT
        self.token_session.verify = tool.verify
        token_adapter = _BoundedAdapter(tool, self.clock)
        self.token_session.mount("http://", token_adapter)
        self.token_session.mount("https://", token_adapter)
        self.timeout = (min(10.0, tool.timeout), tool.timeout)
        post_token = self.retrying(self._token_request_once)
        self.auth = make_auth(
            tool, self.token_session, post_token=lambda url, **kw: post_token("POST", url, kw)
        )
        if self.auth is None:
            self._proven.set()
        pinned = PinnedAuth(self.auth, self.policy) if self.auth is not None else None
        self.session.auth = self.plain_session.auth = pinned
        self._send_with_retries = self.retrying(self._send_once)

    def retrying(self, fn):
        """``fn`` under this tool's retry policy (tries, total wait, Retry-After cap, backoff)."""
        tool = self.tool
        return retrying(
            fn,
            max_retries=tool.max_retries,
            # Waiting for another try ends when the tool's time does.
            max_wait=lambda: min(tool.max_retry_wait or math.inf, self.clock.left()),
            retry_after_cap=tool.retry_after_cap,
            base=tool.retry_backoff,
            on_backoff=self._on_backoff,
        )

    @staticmethod
    def _make_session(
        tool: ToolConfig, cache_dir: Path | None, namespace: str, storable: Callable[[Any], bool]
    ) -> requests.Session:
        if cache_dir is None or tool.cache_ttl <= 0:
            return requests.Session()
        import requests_cache
        from requests_cache.cache_keys import create_key

        make_dirs(cache_dir)
        db = cache_dir / f"{tool.name}.sqlite"
        try:
            # Other credentials (a rotated or another tool's key) never see these answers. The run
            # date is not in the key: an answer of another date is revalidated, never reused as it is.
            scope = credential_fingerprint(tool, cache_dir)

            def key_with_scope(request, **kwargs) -> str:
                return create_key(request, **kwargs) + ":" + scope

            open_cache_database(db, tool.name)
            return requests_cache.CachedSession(
                str(db),
                backend="sqlite",
                expire_after=tool.cache_ttl,
                allowable_methods=("GET",),
                allowable_codes=(200,),
                ignored_parameters=(*SECRET_HEADERS, tool.api_key_header),
                key_fn=key_with_scope,
                filter_fn=storable,
                stale_if_error=False,
                # Two processes may share a tool's database (overlapping schedules): wait, never fail.
                busy_timeout=30_000,
                wal=True,
            )
        except (sqlite3.DatabaseError, OSError) as exc:  # a full disk: the cache is optional
            log.warning(
                "cache database %s unusable (%s); going on without the cache",
                db,
                exc,
                extra={"tool": tool.name},
            )
            return requests.Session()

    def close(self) -> None:
        self.session.close()
        self.plain_session.close()
        self.token_session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ requests

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.tool.base_url + (path if path.startswith("/") else "/" + path)

    def _token_request_once(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        response = self.token_session.request(method, url, timeout=self.timeout, **kwargs)
        if response.is_redirect:
            target = shown(urljoin(url, response.headers.get("Location", "")))
            raise AuthenticationError(
                f"token endpoint {redact_url(url)} answered {response.status_code} redirecting to "
                f"{target}; token requests never follow redirects (set token_url to the real endpoint)",
                tool=self.tool.name,
            )
        return raise_for_retry(response)

    def _on_backoff(self, details: dict[str, Any]) -> None:
        self.stats.add("retries")
        exc = details.get("exception")
        what = exc.reason if isinstance(exc, RetryableResponse) else type(exc).__name__
        log.info(
            "retrying %s %s after %s (try %d, waiting %.1fs)",
            details["args"][0],
            redact_url(details["args"][1]),
            what,
            details["tries"],
            details["wait"],
            extra={"tool": self.tool.name},
        )

    def _storable(self, response: Any) -> bool:
        """Whether the cache may keep ``response``: not when its URL carries a secret (a vendor echoing a
        token into a next link), nor when the source says its answers hold other systems' secrets."""
        if holds_secret(response.url):
            return False
        return self._private is None or not self._private.search(urlsplit(response.url).path)

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        """One request, redirects followed by hand: only within the trusted origins, so neither a
        credential nor a cached redirect history ever holds another host's address or our secrets."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_no_redirect(method, url, kwargs)
            if not response.is_redirect:
                return response
            target = urljoin(response.url or url, response.headers["Location"])
            self.policy.check(target, f"a {response.status_code} redirect from {redact_url(url)}")
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k not in ("data", "json")}
            kwargs = {k: v for k, v in kwargs.items() if k != "params"}  # the Location carries its query
            url = target
        raise CollectionError(f"{method} {redact_url(url)}: more than {MAX_REDIRECTS} redirects")

    def _send_no_redirect(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        options: dict[str, Any] = {}
        if self._cached and (self._refresh or not self._proven.is_set()):
            options["force_refresh"] = True
        response = self._through_cache(method, url, kwargs, options)
        if (
            getattr(response, "from_cache", False)
            and not options
            and response.headers.get(RUN_DATE_HEADER) != self.run_date
        ):
            # Another date's answer is asked again: conditionally when it has an ETag or Last-Modified
            # (requests-cache sends If-None-Match / If-Modified-Since; a 304 costs no body), else anew.
            validated = "ETag" in response.headers or "Last-Modified" in response.headers
            options = {"refresh": True} if validated else {"force_refresh": True}
            response = self._through_cache(method, url, kwargs, options)
        from_cache = getattr(response, "from_cache", False)
        if from_cache and options.get("refresh"):
            self._restamp(response)  # revalidated: it holds for this date now
        elif from_cache:
            self.stats.add("cache_hits")
        elif response.status_code < 300:
            self._proven.set()
        return response

    def _through_cache(
        self, method: str, url: str, kwargs: dict[str, Any], options: dict[str, Any]
    ) -> requests.Response:
        try:
            return self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs, **options
            )
        except sqlite3.DatabaseError as exc:
            # A cache broken under us (another process, a full disk): finish this run without it.
            log.warning(
                "cache database unusable (%s); going on without the cache",
                exc,
                extra={"tool": self.tool.name},
            )
            self.session, self._cached = self.plain_session, False
            return self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)

    def _restamp(self, response: requests.Response) -> None:
        key = getattr(response, "cache_key", None)
        cache = getattr(self.session, "cache", None)
        if key and cache is not None:
            response.headers[RUN_DATE_HEADER] = self.run_date
            expires = datetime.now(UTC) + timedelta(seconds=self.tool.cache_ttl)
            cache.save_response(response, key, expires)

    def _send_once(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        response = self._send(method, url, kwargs)
        log.debug(
            "%s %s -> %s", method, redact_url(url), response.status_code, extra={"tool": self.tool.name}
        )
        if response.status_code == 401 and self.auth is not None and hasattr(self.auth, "invalidate"):
            # An expired or revoked token: fetch a new one once, then let a second 401 stand. Threads that
            # were refused the same token share one refresh.
            if self.auth.invalidate(response.request.headers.get("Authorization")):
                self.stats.add("auth_refreshes")
            response = self._send(method, url, kwargs)
        if response.status_code == 429:  # a vendor's rate is lower than ours: slow the whole tool down
            self.limiter.throttled()
        elif response.status_code < 400 and not getattr(response, "from_cache", False):
            self.limiter.succeeded()
        try:
            return raise_for_retry(response)
        except RetryableResponse as exc:
            if exc.retry_after is not None:  # every worker of this tool waits, not only this one
                self.pause.hold_for(min(exc.retry_after, self.tool.retry_after_cap))
            raise

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        self.clock.check()  # cache hits included: past the tool's deadline, its collection stops
        url = self.url(path)
        self.policy.check(url, "a link")
        if params:
            kwargs["params"] = params
        try:
            try:
                response = self._send_with_retries(method, url, kwargs)
            except (RetryableResponse, requests.RequestException):
                self.clock.check()  # retrying stopped at the tool's deadline: that is the failure to report
                raise
        except RetryableResponse as exc:
            raise RetriesExhaustedError(
                f"{method} {redact_url(url)} still answered {exc.reason} after {self.stats.retries} retries "
                f"(max_retries {self.tool.max_retries}, max_retry_wait {self.tool.max_retry_wait:g}s)",
                tool=self.tool.name,
                status=exc.response.status_code,
            ) from None
        except requests.Timeout:
            raise RetriesExhaustedError(
                f"{method} {redact_url(url)} timed out after {self.tool.timeout:g}s on every try",
                tool=self.tool.name,
            ) from None
        except RETRYABLE_ERRORS as exc:
            raise RetriesExhaustedError(
                f"{method} {redact_url(url)} failed on every try: {_describe(exc)}", tool=self.tool.name
            ) from None
        except requests.RequestException as exc:
            raise CollectionError(
                f"{method} {redact_url(url)}: {_describe(exc)}", tool=self.tool.name
            ) from None
        if response.status_code in (401, 403):
            verdict = (
                "credentials refused" if response.status_code == 401 else "not allowed (check the scopes)"
            )
            raise AuthenticationError(
                f"{method} {redact_url(url)}: {verdict} ({response.status_code})",
                tool=self.tool.name,
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise CollectionError(
                f"{method} {redact_url(url)} answered {response.status_code}: {_snippet(response)}",
                tool=self.tool.name,
                status=response.status_code,
            )
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request_json("GET", path, params=params)

    def request_json(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Send and parse JSON; a malformed body is fetched once more (bypassing the cache) before it
        fails. ``json`` is a request body (listings that are POSTed a filter, as Akto's and Wallarm's)."""
        extra = {} if json is None else {"json": json}
        for attempt in range(2):
            response = self.request(method, path, params=params, **extra)
            try:
                return check_nesting(
                    orjson.loads(response.content), lambda: f"{method} {redact_url(self.url(path))}"
                )
            except MalformedResponseError as exc:
                exc.tool = self.tool.name
                self._forget(response)
                raise
            except orjson.JSONDecodeError as exc:
                self._forget(response)
                if attempt == 0:
                    self.stats.add("retries")
                    log.info(
                        "malformed JSON from %s; fetching it again",
                        redact_url(response.url),
                        extra={"tool": self.tool.name},
                    )
                    continue
                raise MalformedResponseError(
                    f"{method} {redact_url(self.url(path))}: malformed JSON ({exc.msg} at byte {exc.pos} "
                    f"of {len(response.content)})",
                    tool=self.tool.name,
                ) from None
        raise AssertionError("unreachable")

    def _forget(self, response: requests.Response) -> None:
        cache = getattr(self.session, "cache", None)
        key = getattr(response, "cache_key", None)
        if cache is not None and key:
            cache.delete(key)

    # ------------------------------------------------------------------------------------------ pages

    def paginate(
        self,
        path: str,
        *,
        strategy: str | Paginator,
        items_key: str | None,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        max_pages: int | None = None,
        absent_ok: bool = False,
        method: str = "GET",
        body: dict[str, Any] | None = None,
        **options: Any,
    ) -> Iterator[list[Any]]:
        """Yield the items of each page until the strategy stops or the page cap is reached (then the
        listing is marked truncated). ``absent_ok``: the API leaves the items key out of an empty page
        (Google APIs do). With a ``body`` the listing is sent it as JSON and the paging parameters go
        into it rather than the query string (APIs that POST a filter)."""
        paginator = (
            strategy
            if isinstance(strategy, Paginator)
            else make_paginator(strategy, page_size or self.tool.page_size, **options)
        )
        cap = max_pages or self.tool.max_pages
        base_params = dict(params or {})
        page_params: dict[str, Any] | None = paginator.first()
        next_url: str | None = None
        pages, truncated = 0, False
        while page_params is not None:
            if pages >= cap:
                paginator.stop(f"page cap {cap} reached", warning=True)
                truncated = True
                break
            target = urljoin(self.url(path), next_url) if next_url else path
            if body is None:
                query = None if next_url else {**base_params, **page_params}
                document = self.request_json(method, target, params=query)
            else:
                document = self.request_json(method, target, params=base_params, json={**body, **page_params})
            items = self.items_of(document, items_key, path, absent_ok=absent_ok, method=method)
            pages += 1
            self.stats.add("pages")
            kept = paginator.keep(items)
            if kept:
                yield kept
            page_params = paginator.next(document, items)
            next_url = paginator.next_url if page_params == {} else None
        reason = paginator.stop_reason or "done"
        self.stats.stopped(reason, truncated=path if truncated or paginator.truncated else None)
        level = log.warning if paginator.warning else log.debug
        level(
            "pagination of %s stopped after %d page(s): %s",
            path,
            pages,
            reason,
            extra={"tool": self.tool.name},
        )

    def items_of(
        self, document: Any, items_key: str | None, path: str, *, absent_ok: bool = False, method: str = "GET"
    ) -> list[Any]:
        """The list a listing answered at ``items_key``; a 200 of the wrong shape (no such key, not a
        list, not an object) is the vendor's fault, never an empty inventory."""
        if items_key and not isinstance(document, dict):
            raise MalformedResponseError(
                f"{method} {redact_url(self.url(path))}: expected an object with {items_key!r}, "
                f"got {type(document).__name__}",
                tool=self.tool.name,
            )
        items = dig(document, items_key)
        if items is None and items_key and absent_ok:
            return []
        if not isinstance(items, list):
            found = "nothing" if items is None else type(items).__name__
            raise MalformedResponseError(
                f"{method} {redact_url(self.url(path))}: expected a list at {items_key or 'the top level'}, "
                f"got {found}",
                tool=self.tool.name,
            )
        return items

    def get_list(
        self,
        path: str,
        items_key: str | None,
        params: dict[str, Any] | None = None,
        *,
        absent_ok: bool = False,
    ) -> list[Any]:
        """One unpaginated listing, checked like a page."""
        return self.items_of(self.get_json(path, params=params), items_key, path, absent_ok=absent_ok)

    def paginate_all(self, path: str, **kwargs: Any) -> list[Any]:
        return [item for page in self.paginate(path, **kwargs) for item in page]


def credential_fingerprint(tool: ToolConfig, cache_dir: Path) -> str:
    """A keyed hash of what authenticates the tool: part of every cache key, so that other credentials
    never see these answers. The key lives beside the cache, owner-only; the hash alone reveals nothing."""
    key = _fingerprint_key(cache_dir, tool.name)
    material = [tool.auth_type, tool.base_url, tool.token_url or ""]
    for name, value in sorted(tool.credentials.items()):
        if name == "key_file":
            with contextlib.suppress(OSError):
                value = Path(value).read_text(encoding="utf-8", errors="replace")
        material += [name, value]
    return hmac.new(key, "\0".join(material).encode(), hashlib.sha256).hexdigest()[:24]


FINGERPRINT_KEY = ".fingerprint.key"
FINGERPRINT_KEY_BYTES = 32


class _UntrustedKeyError(OSError):
    """The fingerprint key is not 32 bytes in an owner-only regular file of ours."""


def _fingerprint_key(cache_dir: Path, tool: str) -> bytes:
    """The key of the cache's credential fingerprints, made on first use. One that cannot be trusted
    (empty, another length, readable by others, not a regular file, a symbolic link) is made anew and
    the cache dropped, with a warning: keys derived from it could have been computed by anyone."""
    key_path = cache_dir / FINGERPRINT_KEY
    for _ in range(2):
        try:
            return _read_key(key_path)
        except FileNotFoundError:
            pass
        except _UntrustedKeyError as exc:
            dropped = _drop_cache(cache_dir)
            log.warning(
                "%s %s: made anew, and the cache dropped (%d database(s))",
                key_path,
                exc,
                dropped,
                extra={"tool": tool},
            )
            key_path.unlink()
        _write_key(key_path)
    return _read_key(key_path)  # replaced again meanwhile: the caller goes on without the cache


def _read_key(key_path: Path) -> bytes:
    try:
        # O_NONBLOCK: a FIFO planted there must not hang the run on open.
        fd = os.open(key_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _UntrustedKeyError("is a symbolic link") from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _UntrustedKeyError("is not a regular file")
        if info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise _UntrustedKeyError(f"is not owner-only (mode {info.st_mode & 0o777:o})")
        key = handle.read(FINGERPRINT_KEY_BYTES + 1)
    if len(key) != FINGERPRINT_KEY_BYTES:
        raise _UntrustedKeyError(f"holds {len(key)} bytes, not {FINGERPRINT_KEY_BYTES}")
    return key


def _write_key(key_path: Path) -> None:
    # Written whole under a temporary name (mkstemp: 0600) and linked into place, never replacing
    # another's: a tool starting at the same moment never reads a half-written key.
    fd, tmp = tempfile.mkstemp(dir=key_path.parent, prefix=".fingerprint.", suffix=".tmp")
    try:
        os.write(fd, os.urandom(FINGERPRINT_KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, key_path)
    finally:
        os.unlink(tmp)


def _drop_cache(cache_dir: Path) -> int:
    """Remove every tool's cache database in ``cache_dir``; how many there were."""
    databases = sorted(cache_dir.glob("*.sqlite"))
    for db in databases:
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)
    return len(databases)


def open_cache_database(db: Path, tool: str) -> Path:
    """The tool's cache database, owner-only, never through a symlink; a corrupt one is moved aside
    (kept for a look) and started afresh, with a warning."""
    from apiinv.store import open_private

    os.close(open_private(db, os.O_RDWR | os.O_CREAT))
    try:
        with contextlib.closing(sqlite3.connect(db)) as connection:
            connection.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError:
        raise  # locked or out of room: not corrupt; the caller goes on without the cache
    except sqlite3.DatabaseError as exc:
        aside = db.with_name(f"{db.name}.corrupt-{int(time.time())}")
        os.replace(db, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        log.warning(
            "cache database %s was unusable (%s): moved to %s, starting afresh",
            db,
            exc,
            aside.name,
            extra={"tool": tool},
        )
        os.close(open_private(db, os.O_RDWR | os.O_CREAT))
    return db


def _describe(exc: BaseException) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Read timed out",
        "Name or service not known",
        "Remote end closed",
        "IncompleteRead",
        "Connection aborted",
    ):
        if marker in text:
            return marker.lower()
    return redact(text)[:200]


def _snippet(response: requests.Response) -> str:
    text = response.text[:200].replace("\n", " ").strip()
    return redact(text) or "(empty body)"
