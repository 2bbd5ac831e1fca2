"""The one HTTP client every source uses: a coordinator over a tool instance's cache, transport, auth,
retries, rate limit and listings. Secrets never leave through it: credentials go only to the tool's own
origin (redirects and next links elsewhere are refused, origin.py), URLs are redacted before logging,
auth headers are left out of stored responses, cache keys carry a keyed fingerprint of the credentials
instead (cache.py), and token endpoints are never cached and never redirected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

import orjson
import requests

from apiinv import memory
from apiinv.bounds import check_nesting
from apiinv.errors import (
    AuthenticationError,
    CollectionError,
    MalformedResponseError,
    RetriesExhaustedError,
)
from apiinv.http import listing
from apiinv.http.auth import make_auth
from apiinv.http.cache import ResponseCache
from apiinv.http.deadline import ToolClock
from apiinv.http.origin import OriginPolicy, PinnedAuth, follow_redirects, shown
from apiinv.http.ratelimit import RateLimiter, SharedPause
from apiinv.http.retry import RETRYABLE_ERRORS, RetryableResponse, raise_for_retry, retrying
from apiinv.http.stats import RequestStats
from apiinv.http.transport import BoundedAdapter, CountingAdapter, NoRedirectSession, mount
from apiinv.logs import get_logger
from apiinv.redact import redact, redact_url

if TYPE_CHECKING:
    from apiinv.config import ToolConfig


log = get_logger("http")
F = TypeVar("F", bound=Callable[..., Any])


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
        texts: dict[str, str] | None = None,
    ) -> None:
        self.tool = tool
        # Equal string values of all its answers held once (memory.share_texts); a caller that also
        # holds the tool's last collection passes the table its strings went into.
        self.texts: dict[str, str] = {} if texts is None else texts
        self.stats = RequestStats()
        self.clock = ToolClock(tool)  # the tool's collection starts with its client
        self.limiter = RateLimiter(tool.rate_limit or None)
        self.policy = OriginPolicy(tool.base_url, tool.allowed_hosts, tool=tool.name)
        self.pause = SharedPause()
        self.timeout = (min(10.0, tool.timeout), tool.timeout)
        self.cache = ResponseCache(
            tool,
            self.stats,
            cache_dir=cache_dir,
            run_date=cache_namespace,
            refresh=refresh,
            timeout=self.timeout,
            private_paths=private_paths,
        )
        self.plain_session = self.cache.plain_session
        adapter = CountingAdapter(
            self.limiter,
            self.stats,
            pool_size or max(tool.concurrency, 4),
            tool,
            self.clock,
            self.pause,
            cache_namespace,
        )
        for session in (self.cache.session, self.plain_session):
            mount(session, adapter, tool)
            session.headers["Accept"] = "application/json"
        # Tokens come from a plain session: token endpoints are never cached and never redirected.
        self.token_session = NoRedirectSession()
        mount(self.token_session, BoundedAdapter(tool, self.clock), tool)
        post_token = self.retrying(self._token_request_once)
        self.auth = make_auth(
            tool, self.token_session, post_token=lambda url, **kw: post_token("POST", url, kw)
        )
        if self.auth is None:
            self.cache.trust_credentials()
        pinned = PinnedAuth(self.auth, self.policy) if self.auth is not None else None
        self.cache.session.auth = self.plain_session.auth = pinned
        self._send_with_retries = self.retrying(self._send_once)

    @property
    def session(self) -> requests.Session:
        """The session requests go through now: the cache's, or a plain one once the cache broke."""
        return self.cache.session

    def retrying(self, fn: F) -> F:
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

    def close(self) -> None:
        self.cache.close()
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

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        return follow_redirects(self.cache.send, self.policy, method, url, kwargs)

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
            response = self._send_with_retries(method, url, kwargs)
        except (RetryableResponse, requests.RequestException) as exc:
            self.clock.check()  # retrying stopped at the tool's deadline: that is the failure to report
            raise self._failure(method, url, exc) from None
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

    def _failure(self, method: str, url: str, exc: Exception) -> CollectionError:
        """What a request that got no usable answer, retries spent, is reported as."""
        where, tool = f"{method} {redact_url(url)}", self.tool
        if isinstance(exc, RetryableResponse):
            return RetriesExhaustedError(
                f"{where} still answered {exc.reason} after {self.stats.retries} retries "
                f"(max_retries {tool.max_retries}, max_retry_wait {tool.max_retry_wait:g}s)",
                tool=tool.name,
                status=exc.response.status_code,
            )
        if isinstance(exc, requests.Timeout):
            return RetriesExhaustedError(
                f"{where} timed out after {tool.timeout:g}s on every try", tool=tool.name
            )
        if isinstance(exc, RETRYABLE_ERRORS):
            return RetriesExhaustedError(f"{where} failed on every try: {_describe(exc)}", tool=tool.name)
        return CollectionError(f"{where}: {_describe(exc)}", tool=tool.name)

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
                document = check_nesting(
                    orjson.loads(response.content), lambda: f"{method} {redact_url(self.url(path))}"
                )
                return memory.share_texts(document, self.texts)
            except MalformedResponseError as exc:
                exc.tool = self.tool.name
                self.cache.forget(response)
                raise
            except orjson.JSONDecodeError as exc:
                self.cache.forget(response)
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

    # ------------------------------------------------------------------------------------------ pages

    def paginate(self, path: str, **arguments: Any) -> Iterator[list[Any]]:
        """The items of each page until the strategy stops or the page cap is reached (then the listing
        is marked truncated): apiinv.http.listing.pages, whose arguments these are, without the page
        documents. ``absent_ok``: the API leaves the items key out of an empty page (Google APIs do).
        With a ``body`` the listing is sent it as JSON and the paging parameters go into it rather than
        the query string (APIs that POST a filter)."""
        return (items for _, items in listing.pages(self, path, **arguments))

    def items_of(
        self, document: Any, items_key: str | None, path: str, *, absent_ok: bool = False, method: str = "GET"
    ) -> list[Any]:
        """The list a listing answered at ``items_key``; a 200 of the wrong shape (no such key, not a
        list, not an object) is the vendor's fault, never an empty inventory."""
        where = f"{method} {redact_url(self.url(path))}"
        return listing.items_of(document, items_key, where, self.tool.name, absent_ok=absent_ok)

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
