"""Authentication kinds, as requests auth objects applied to every request of a tool's session.

Token-issuing kinds (oauth, service_account) fetch their tokens over a plain, uncached session,
refresh them before they expire, and can be told to drop a token the server refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from apiinv.errors import AuthenticationError, MalformedResponseError
from apiinv.http.retry import RetryableResponse
from apiinv.redact import redact, register_secret

if TYPE_CHECKING:
    from apiinv.config import ToolConfig

GOOGLE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class HeaderAuth(AuthBase):
    def __init__(self, header: str, value: str) -> None:
        self.header, self.value = header, value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.value
        return request


class _RefreshingBearer(AuthBase):
    """A bearer token that is fetched lazily, refreshed ahead of expiry, and dropped on demand."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self._lock = threading.Lock()
        self.refreshes = 0

    def token(self) -> str:
        raise NotImplementedError

    def invalidate(self, refused: str | None = None) -> bool:
        raise NotImplementedError

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class ClientCredentialsAuth(_RefreshingBearer):
    """OAuth2 client credentials (Cequence's Keycloak and any standard token endpoint)."""

    def __init__(
        self,
        tool: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None,
        post: Callable[..., requests.Response],
    ) -> None:
        super().__init__(tool)
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scope, self.post = scope, post
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self, refused: str | None = None) -> bool:
        """Drop the token the server refused; False when another thread already replaced it."""
        with self._lock:
            if self._token is None or (refused is not None and refused != f"Bearer {self._token}"):
                return False
            self._token = None
            return True

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        try:
            response = self.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except RetryableResponse as exc:
            raise AuthenticationError(
                f"token endpoint still answered {exc.reason} after retries", tool=self.tool
            ) from None
        except requests.RequestException as exc:
            raise AuthenticationError(
                f"token endpoint unreachable: {type(exc).__name__}", tool=self.tool
            ) from None
        if response.status_code in (400, 401, 403):
            reason = _oauth_error(response)
            raise AuthenticationError(
                f"token endpoint refused the client credentials ({response.status_code}{reason})",
                tool=self.tool,
            )
        if response.status_code != 200:
            raise AuthenticationError(f"token endpoint answered {response.status_code}", tool=self.tool)
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError):
            raise MalformedResponseError("token endpoint returned no access_token", tool=self.tool) from None
        register_secret(token)
        self._token = token
        # Refresh ahead: a tenth of the lifetime, at most a minute, so no request leaves with a token
        # that expires on the way.
        self._expires_at = time.monotonic() + lifetime - min(60.0, lifetime / 10)
        self.refreshes += 1


def _oauth_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f": {redact(str(error))}" if isinstance(error, str) else ""


class GoogleServiceAccountAuth(_RefreshingBearer):
    """Apigee: a service-account JSON key; google-auth signs the JWT and refreshes the token."""

    def __init__(self, tool: str, key_file: str, *, scope: str | None, session: requests.Session) -> None:
        super().__init__(tool)
        from google.auth.transport.requests import Request
        from google.oauth2 import service_account

        try:
            self.credentials = service_account.Credentials.from_service_account_file(
                key_file, scopes=[scope or GOOGLE_SCOPE]
            )
        except (ValueError, KeyError, OSError) as exc:
            raise AuthenticationError(
                f"cannot use service-account key {key_file}: {exc}", tool=tool
            ) from None
        self._request = Request(session=session)

    def token(self) -> str:
        import google.auth.exceptions

        with self._lock:
            if not self.credentials.valid:
                try:
                    self.credentials.refresh(self._request)
                except google.auth.exceptions.TransportError:
                    raise AuthenticationError(
                        "the service account's token endpoint (token_uri of the key file) is unreachable",
                        tool=self.tool,
                    ) from None
                except google.auth.exceptions.GoogleAuthError as exc:
                    raise AuthenticationError(
                        f"service-account token refused: {redact(str(exc))[:200]}", tool=self.tool
                    ) from None
                register_secret(self.credentials.token)
                self.refreshes += 1
            return self.credentials.token

    def invalidate(self, refused: str | None = None) -> bool:
        """Drop the token the server refused; False when another thread already replaced it."""
        with self._lock:
            token = self.credentials.token
            if token is None or (refused is not None and refused != f"Bearer {token}"):
                return False
            self.credentials.token = None
            return True


def make_auth(
    tool: ToolConfig, token_session: requests.Session, *, post_token: Callable[..., requests.Response]
) -> AuthBase | None:
    """The auth object for a tool; ``post_token`` is the client's retrying POST for token endpoints."""
    tool.require_ready()
    creds: dict[str, Any] = tool.credentials
    kind = tool.auth_type
    if kind in ("none", "aws"):  # aws: requests are signed by the AWS SDK, not sent through this client
        return None
    if kind == "api_key":
        return HeaderAuth(tool.api_key_header, creds["api_key"])
    if kind == "bearer":
        return HeaderAuth("Authorization", f"Bearer {creds['token']}")
    if kind == "basic":
        return HTTPBasicAuth(creds["username"], creds["password"])
    if kind == "oauth":
        assert tool.token_url
        return ClientCredentialsAuth(
            tool.name,
            tool.token_url,
            creds["client_id"],
            creds["client_secret"],
            scope=tool.scope,
            post=post_token,
        )
    if kind == "service_account":
        if creds.get("token"):
            return HeaderAuth("Authorization", f"Bearer {creds['token']}")
        return GoogleServiceAccountAuth(tool.name, creds["key_file"], scope=tool.scope, session=token_session)
    raise AuthenticationError(f"unknown auth_type {kind!r}", tool=tool.name)
