"""Authentication kinds, as requests auth objects applied to every request of a tool's session.

Token-issuing kinds (oauth, service_account) fetch their tokens over a plain, uncached session,
refresh them before they expire, and can be told to drop a token the server refused.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import requests
from requests.auth import AuthBase, HTTPBasicAuth

from apiinv.errors import AuthenticationError, MalformedResponseError
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

    def invalidate(self) -> None:
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
        session: requests.Session,
        timeout: float,
        verify: bool | str,
    ) -> None:
        super().__init__(tool)
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scope, self.session, self.timeout, self.verify = scope, session, timeout, verify
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if self.scope:
            form["scope"] = self.scope
        last_error: Exception | None = None
        for attempt in range(3):
            try:
                response = self.session.post(
                    self.token_url,
                    data=form,
                    timeout=self.timeout,
                    headers={"Accept": "application/json"},
                    verify=self.verify,
                )
            except requests.RequestException as exc:
                last_error = exc
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last_error = AuthenticationError(
                    f"token endpoint answered {response.status_code}", tool=self.tool
                )
                time.sleep(0.2 * 2**attempt)
                continue
            break
        else:
            raise AuthenticationError(
                f"token endpoint unreachable: {redact(str(last_error))}", tool=self.tool
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
                except google.auth.exceptions.GoogleAuthError as exc:
                    raise AuthenticationError(
                        f"service-account token refused: {redact(str(exc))[:200]}", tool=self.tool
                    ) from None
                register_secret(self.credentials.token)
                self.refreshes += 1
            return self.credentials.token

    def invalidate(self) -> None:
        with self._lock:
            self.credentials.token = None


def make_auth(tool: ToolConfig, token_session: requests.Session) -> AuthBase | None:
    tool.require_ready()
    creds: dict[str, Any] = tool.credentials
    kind = tool.auth_type
    if kind == "none":
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
            session=token_session,
            timeout=tool.timeout,
            verify=tool.verify,
        )
    if kind == "service_account":
        if creds.get("token"):
            return HeaderAuth("Authorization", f"Bearer {creds['token']}")
        return GoogleServiceAccountAuth(tool.name, creds["key_file"], scope=tool.scope, session=token_session)
    raise AuthenticationError(f"unknown auth_type {kind!r}", tool=tool.name)
