"""A tool's response cache: one requests-cache database per tool, keyed by a keyed fingerprint of its
credentials, each answer stamped with the run date it was fetched for.

Other credentials (a rotated or another tool's key) never see a tool's answers; an answer of another
date is revalidated, never reused as it is; until one answer came from the vendor itself a tool's
credentials are unproven and nothing is answered from the cache; a corrupt database is moved aside and
one that breaks mid-run is left for the rest of it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import re
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from apiinv.http.stats import RequestStats
from apiinv.logs import get_logger
from apiinv.redact import holds_secret
from apiinv.store import make_dirs, open_private

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

log = get_logger("http")

# Headers that carry credentials: never stored with a cached response (the tool's own key header is
# added per tool). Credentials never travel in query strings, so no query parameter is dropped from the
# cache key: a page token named ``token`` must keep its pages apart.
SECRET_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")

# Stamped on every answer before the cache stores it: the run date it was fetched for.
RUN_DATE_HEADER = "X-Apiinv-Run-Date"

FINGERPRINT_KEY = ".fingerprint.key"
FINGERPRINT_KEY_BYTES = 32


class ResponseCache:
    """The session a tool's requests go through: its cache when it has one, told when to ask the vendor
    anyway (``refresh``, credentials not yet proven, an answer of another date). Thread-safe."""

    def __init__(
        self,
        tool: ToolConfig,
        stats: RequestStats,
        *,
        cache_dir: Path | None,
        run_date: str,
        refresh: bool,
        timeout: tuple[float, float],
        private_paths: tuple[str, ...] = (),
    ) -> None:
        self.tool, self.stats, self.run_date, self.timeout = tool, stats, run_date, timeout
        self._private = re.compile("|".join(f"(?:{p})" for p in private_paths)) if private_paths else None
        self.session = cached_session(tool, cache_dir, self.storable)
        self.plain_session = requests.Session()  # stands in if the cache database breaks mid-run
        self._cached = hasattr(self.session, "cache")
        # --refresh: ignore what the cache holds for this date, but store the fresh answers.
        self._refresh = refresh
        # Until one answer came from the vendor itself, credentials are unproven: a revoked key must
        # not be answered from the cache.
        self._proven = threading.Event()

    def trust_credentials(self) -> None:
        """There are none to prove (a tool without auth): the cache may answer from the start."""
        self._proven.set()

    def storable(self, response: Any) -> bool:
        """Whether the cache may keep ``response``: not when its URL carries a secret (a vendor echoing a
        token into a next link), nor when the source says its answers hold other systems' secrets."""
        if holds_secret(response.url):
            return False
        return self._private is None or not self._private.search(urlsplit(response.url).path)

    def send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        """One request, redirects not followed, answered by the cache when it may."""
        options: dict[str, Any] = {}
        if self._cached and (self._refresh or not self._proven.is_set()):
            options["force_refresh"] = True
        response = self._through_cache(method, url, kwargs, options)
        if _from_cache(response) and not options and response.headers.get(RUN_DATE_HEADER) != self.run_date:
            # Another date's answer is asked again: conditionally when it has an ETag or Last-Modified
            # (requests-cache sends If-None-Match / If-Modified-Since; a 304 costs no body), else anew.
            validated = "ETag" in response.headers or "Last-Modified" in response.headers
            options = {"refresh": True} if validated else {"force_refresh": True}
            response = self._through_cache(method, url, kwargs, options)
        if _from_cache(response) and options.get("refresh"):
            self._restamp(response)  # revalidated: it holds for this date now
        elif _from_cache(response):
            self.stats.add("cache_hits")
        elif response.status_code < 300:
            self._proven.set()
        return response

    def forget(self, response: requests.Response) -> None:
        """Drop ``response`` from the cache (a body that turned out unusable)."""
        cache = getattr(self.session, "cache", None)
        key = getattr(response, "cache_key", None)
        if cache is not None and key:
            cache.delete(key)

    def close(self) -> None:
        self.session.close()
        self.plain_session.close()

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


def _from_cache(response: requests.Response) -> bool:
    return bool(getattr(response, "from_cache", False))


def cached_session(
    tool: ToolConfig, cache_dir: Path | None, storable: Callable[[Any], bool]
) -> requests.Session:
    """A session over the tool's cache database, or a plain one when it has no cache or it is unusable."""
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

        def key_with_scope(request: requests.PreparedRequest, **kwargs: Any) -> str:
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
