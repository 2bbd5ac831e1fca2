"""The one HTTP client every source uses: a session per tool instance with its cache, auth, retries,
rate limit and pagination. Secrets never leave through it: URLs are redacted before logging, auth
headers are left out of cache keys and stored responses, and token endpoints are never cached.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import orjson
import requests
from requests.adapters import HTTPAdapter

from apiinv.errors import (
    AuthenticationError,
    CollectionError,
    MalformedResponseError,
    PaginationError,
    RetriesExhaustedError,
)
from apiinv.http.auth import make_auth
from apiinv.http.paginate import Paginator, dig, make_paginator
from apiinv.http.ratelimit import RateLimiter
from apiinv.http.retry import RETRYABLE_ERRORS, RetryableResponse, raise_for_retry, retrying
from apiinv.logs import get_logger
from apiinv.redact import redact, redact_url
from apiinv.store import make_dirs

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

log = get_logger("http")

SECRET_CACHE_PARAMS = (
    "Authorization",
    "Proxy-Authorization",
    "X-API-KEY",
    "Kong-Admin-Token",
    "access_token",
    "api_key",
    "apikey",
    "client_secret",
    "token",
    "key",
)
USER_AGENT = "apiinv"


@dataclass
class RequestStats:
    """What one tool's client did; thread-safe, reported in the manifest."""

    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    pages: int = 0
    auth_refreshes: int = 0
    rate_limit_wait: float = 0.0
    stops: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def stopped(self, reason: str) -> None:
        with self._lock:
            self.stops[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "pages": self.pages,
            "auth_refreshes": self.auth_refreshes,
            "rate_limit_wait_s": round(self.rate_limit_wait, 3),
            "pagination_stops": dict(self.stops),
        }


class _CountingAdapter(HTTPAdapter):
    """Only requests that reach the network pass here (cache hits do not): the place to rate-limit."""

    def __init__(self, limiter: RateLimiter | None, stats: RequestStats, pool_size: int) -> None:
        super().__init__(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self.limiter = limiter
        self.stats = stats

    def send(self, request, **kwargs):  # type: ignore[override]
        if self.limiter is not None:
            self.stats.add("rate_limit_wait", self.limiter.acquire())
        self.stats.add("requests")
        return super().send(request, **kwargs)


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
    ) -> None:
        self.tool = tool
        self.stats = RequestStats()
        self.limiter = RateLimiter(tool.rate_limit) if tool.rate_limit else None
        pool_size = pool_size or max(tool.concurrency, 4)
        self.session = self._make_session(tool, cache_dir, cache_namespace)
        # --refresh: ignore what the cache holds for this date, but store the fresh answers.
        self._cache_kwargs = {"force_refresh": True} if refresh and hasattr(self.session, "cache") else {}
        adapter = _CountingAdapter(self.limiter, self.stats, pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.verify = tool.verify
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        # Tokens come from a plain session: token endpoints must never be cached.
        self.token_session = requests.Session()
        self.token_session.headers["User-Agent"] = USER_AGENT
        self.token_session.verify = tool.verify
        self.timeout = (min(10.0, tool.timeout), tool.timeout)
        post_token = self.retrying(self._token_request_once)
        self.auth = make_auth(
            tool, self.token_session, post_token=lambda url, **kw: post_token("POST", url, kw)
        )
        self.session.auth = self.auth
        self._send_with_retries = self.retrying(self._send_once)

    def retrying(self, fn):
        """``fn`` under this tool's retry policy (tries, total wait, Retry-After cap, backoff)."""
        tool = self.tool
        return retrying(
            fn,
            max_retries=tool.max_retries,
            max_wait=tool.max_retry_wait,
            retry_after_cap=tool.retry_after_cap,
            base=tool.retry_backoff,
            on_backoff=self._on_backoff,
        )

    @staticmethod
    def _make_session(tool: ToolConfig, cache_dir: Path | None, namespace: str) -> requests.Session:
        if cache_dir is None or tool.cache_ttl <= 0:
            return requests.Session()
        import requests_cache
        from requests_cache.cache_keys import create_key

        def key_with_namespace(request, **kwargs) -> str:
            # Cached answers are reused within one run date only: another date must see fresh data.
            return create_key(request, **kwargs) + ":" + namespace

        make_dirs(cache_dir)
        db = cache_dir / f"{tool.name}.sqlite"
        # Created owner-only before SQLite opens it: its journal files take the same mode.
        db.touch(mode=0o600, exist_ok=True)
        db.chmod(0o600)
        session = requests_cache.CachedSession(
            str(db),
            backend="sqlite",
            expire_after=tool.cache_ttl,
            allowable_methods=("GET",),
            allowable_codes=(200,),
            ignored_parameters=(*SECRET_CACHE_PARAMS, tool.api_key_header),
            key_fn=key_with_namespace,
            stale_if_error=False,
        )
        return session

    def close(self) -> None:
        self.session.close()
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
        return raise_for_retry(self.token_session.request(method, url, timeout=self.timeout, **kwargs))

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

    def _send_once(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        response = self.session.request(method, url, timeout=self.timeout, **kwargs, **self._cache_kwargs)
        if getattr(response, "from_cache", False):
            self.stats.add("cache_hits")
        log.debug(
            "%s %s -> %s", method, redact_url(url), response.status_code, extra={"tool": self.tool.name}
        )
        if response.status_code == 401 and hasattr(self.auth, "invalidate"):
            # An expired or revoked token: fetch a new one once, then let a second 401 stand. Threads that
            # were refused the same token share one refresh.
            if self.auth.invalidate(response.request.headers.get("Authorization")):
                self.stats.add("auth_refreshes")
            response = self.session.request(method, url, timeout=self.timeout, **kwargs, **self._cache_kwargs)
        return raise_for_retry(response)

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        url = self.url(path)
        if params:
            kwargs["params"] = params
        try:
            response = self._send_with_retries(method, url, kwargs)
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
        """GET and parse JSON; a malformed body is fetched once more (bypassing the cache) before it fails."""
        for attempt in range(2):
            response = self.get(path, params=params)
            try:
                return orjson.loads(response.content)
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
                    f"GET {redact_url(self.url(path))}: malformed JSON ({exc.msg} at byte {exc.pos} "
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
        **options: Any,
    ) -> Iterator[list[Any]]:
        """Yield the items of each page until the strategy stops or the page cap is reached."""
        paginator = (
            strategy
            if isinstance(strategy, Paginator)
            else make_paginator(strategy, page_size or self.tool.page_size, **options)
        )
        cap = max_pages or self.tool.max_pages
        base_params = dict(params or {})
        page_params: dict[str, Any] | None = paginator.first()
        next_url: str | None = None
        pages = 0
        while page_params is not None:
            if pages >= cap:
                paginator.stop(f"page cap {cap} reached", warning=True)
                break
            target = urljoin(self.url(path), next_url) if next_url else path
            document = self.get_json(target, params=None if next_url else {**base_params, **page_params})
            items = dig(document, items_key)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise PaginationError(
                    f"GET {redact_url(self.url(path))}: expected a list at {items_key or 'the top level'}, "
                    f"got {type(items).__name__}",
                    tool=self.tool.name,
                )
            pages += 1
            self.stats.add("pages")
            kept = paginator.keep(items)
            if kept:
                yield kept
            page_params = paginator.next(document, items)
            next_url = paginator.next_url if page_params == {} else None
        reason = paginator.stop_reason or "done"
        self.stats.stopped(reason)
        level = log.warning if paginator.warning else log.debug
        level(
            "pagination of %s stopped after %d page(s): %s",
            path,
            pages,
            reason,
            extra={"tool": self.tool.name},
        )

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
