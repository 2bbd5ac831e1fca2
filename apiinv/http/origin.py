"""Where a tool's credentials may go: its configured origin (scheme, host, port) and the origins it
lists in ``allowed_hosts``, nowhere else. Redirects and next links are followed only inside that set.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from requests import PreparedRequest
from requests.auth import AuthBase

from apiinv.errors import ForeignOriginError

_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def origin_of(url: str, *, default_scheme: str = "https") -> Origin:
    """(scheme, host, port) of a URL; a bare ``host`` or ``host:port`` takes ``default_scheme``."""
    parts = urlsplit(url if "://" in url else f"{default_scheme}://{url}")
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def show(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if _DEFAULT_PORTS.get(scheme) == port else f":{port}")


class OriginPolicy:
    """The origins a tool trusts with its credentials."""

    def __init__(self, base_url: str, allowed_hosts: Iterable[str] = (), *, tool: str = "") -> None:
        self.tool = tool
        self.home = origin_of(base_url)
        self.allowed = {self.home} | {origin_of(h, default_scheme=self.home[0]) for h in allowed_hosts}

    def allows(self, url: str) -> bool:
        return origin_of(url) in self.allowed

    def check(self, url: str, what: str) -> None:
        """Raise ForeignOriginError unless ``url`` is on a trusted origin; ``what`` names the link."""
        if not self.allows(url):
            foreign = show(origin_of(url))
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

    def __getattr__(self, name: str):  # invalidate(), refreshes, ... of the wrapped auth
        return getattr(self.inner, name)
