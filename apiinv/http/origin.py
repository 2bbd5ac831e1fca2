"""Where a tool's credentials may go: its configured origin (scheme, host, port) and the origins it
lists in ``allowed_hosts``, nowhere else. Redirects and next links are followed only inside that set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin

from requests import PreparedRequest, Response
from requests.auth import AuthBase
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from apiinv.errors import CollectionError, ConfigurationError, ForeignOriginError
from apiinv.redact import redact_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]
MAX_REDIRECTS = 5
# Sends one request (method, url, requests' keyword arguments) without following its redirects.
Send = Callable[[str, str, dict[str, Any]], Response]

# What parsers read apart: a backslash (a separator to browsers and urllib3, not to urllib.parse),
# whitespace and control characters (dropped by some, kept by others).
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
# A plain name or address, or a bracketed IPv6 address, and an optional port: no user info, no
# percent-encoding, no zone id, nothing outside ASCII.
_PLAIN_AUTHORITY = re.compile(r"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def origin_of(url: str, *, default_scheme: str = "https") -> Origin:
    """(scheme, host, port) of a URL; a bare ``host`` or ``host:port`` takes ``default_scheme``.

    Read with urllib3's parser, the one that sends the request, once every form that two parsers may
    read apart is refused: a ValueError says which."""
    if "://" not in url:
        url = f"{default_scheme}://{url}"
    if _UNSAFE.search(url):
        raise ValueError("it holds a backslash, a space or a control character")
    authority = _AUTHORITY.match(url)
    if authority is None:
        raise ValueError("it names no host after the scheme")
    if "@" in authority.group(1):
        raise ValueError("it carries user info (user@host)")
    if not _PLAIN_AUTHORITY.fullmatch(authority.group(1)):
        raise ValueError("its host is not a plain name or address (percent-encoding, zone id, non-ASCII)")
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise ValueError("its host or port cannot be read") from None
    scheme = (parts.scheme or "").lower()
    host = (parts.host or "").lower().strip("[]")
    return scheme, host, parts.port or _DEFAULT_PORTS.get(scheme, 0)


def show(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if _DEFAULT_PORTS.get(scheme) == port else f":{port}")


def shown(url: str) -> str:
    """The origin of ``url`` for a message, whatever the URL holds."""
    try:
        return show(origin_of(url))
    except ValueError as exc:
        return f"an unreadable address ({exc})"


class OriginPolicy:
    """The origins a tool trusts with its credentials."""

    def __init__(self, base_url: str, allowed_hosts: Iterable[str] = (), *, tool: str = "") -> None:
        self.tool = tool
        try:
            # A source that reads files has no base URL: no origin of its own to trust.
            self.home = origin_of(base_url) if base_url else ("", "", 0)
            self.allowed = {self.home} | {origin_of(h, default_scheme=self.home[0]) for h in allowed_hosts}
        except ValueError as exc:
            raise ConfigurationError(
                f"api_base_url or allowed_hosts: an address is refused: {exc}", tool=tool
            ) from None

    def allows(self, url: str) -> bool:
        try:
            return origin_of(url) in self.allowed
        except ValueError:
            return False

    def check(self, url: str, what: str) -> None:
        """Raise ForeignOriginError unless ``url`` is on a trusted origin, read the way it would be sent
        (an address that parsers may read apart is refused outright); ``what`` names the link."""
        try:
            origin = origin_of(url)
        except ValueError as exc:
            raise ForeignOriginError(
                f"refused {what}: its address is ambiguous ({exc}); nothing was sent to it",
                tool=self.tool,
                origin="ambiguous",
            ) from None
        if origin not in self.allowed:
            foreign = show(origin)
            raise ForeignOriginError(
                f"refused {what} to another origin {foreign} (credentials stay with "
                f"{show(self.home)}; list it in allowed_hosts to trust it)",
                tool=self.tool,
                origin=foreign,
            )


class PinnedAuth(AuthBase):
    """Applies ``inner`` only to requests bound for a trusted origin: a request elsewhere leaves bare."""

    def __init__(self, inner: AuthBase, policy: OriginPolicy) -> None:
        self.inner, self.policy = inner, policy

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if request.url and self.policy.allows(request.url):
            pinned: PreparedRequest = self.inner(request)
            return pinned
        return request

    def __getattr__(self, name: str) -> Any:  # invalidate(), refreshes, ... of the wrapped auth
        return getattr(self.inner, name)


def follow_redirects(
    send: Send, policy: OriginPolicy, method: str, url: str, kwargs: dict[str, Any]
) -> Response:
    """One request, redirects followed by hand: only within the trusted origins, so neither a
    credential nor a cached redirect history ever holds another host's address or our secrets."""
    for _ in range(MAX_REDIRECTS + 1):
        response = send(method, url, kwargs)
        if not response.is_redirect:
            return response
        target = urljoin(response.url or url, response.headers["Location"])
        policy.check(target, f"a {response.status_code} redirect from {redact_url(url)}")
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, kwargs = "GET", {k: v for k, v in kwargs.items() if k not in ("data", "json")}
        kwargs = {k: v for k, v in kwargs.items() if k != "params"}  # the Location carries its query
        url = target
    raise CollectionError(f"{method} {redact_url(url)}: more than {MAX_REDIRECTS} redirects")
