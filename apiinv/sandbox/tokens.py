"""Token issuers the simulators share: a Keycloak-style client-credentials endpoint and a Google-style
JWT-bearer endpoint that verifies service-account assertions for real, so google-auth runs unchanged.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path

from apiinv.sandbox.server import Request, Response, error_response, json_response, public

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenRegistry:
    def __init__(self, lifetime: float = 1800) -> None:
        self.lifetime = lifetime
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.issued = 0
        self.handed_out: list[str] = []  # every token issued, expired or not: none may be stored

    def issue(self, prefix: str = "tok") -> tuple[str, float]:
        token = f"{prefix}.{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = time.monotonic() + self.lifetime
            self.issued += 1
            self.handed_out.append(token)
        return token, self.lifetime

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()


def bearer(request: Request) -> str | None:
    value = request.header("authorization") or ""
    return value[7:] if value.lower().startswith("bearer ") else None


def client_credentials_handler(registry: TokenRegistry, clients: dict[str, str]):
    """POST form grant_type=client_credentials&client_id&client_secret -> {access_token, expires_in}."""

    def handle(request: Request) -> Response:
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if clients.get(form.get("client_id", "")) != form.get("client_secret") or not form.get(
            "client_secret"
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "Invalid client credentials"}, 401
            )
        token, lifetime = registry.issue("kc")
        return json_response(
            {
                "access_token": token,
                "expires_in": int(lifetime),
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile email",
            }
        )

    return public(handle)


class ServiceAccounts:
    """Keys the Google-style token endpoint trusts; it can mint a fresh key file for a client."""

    def __init__(self) -> None:
        self.public_keys: dict[str, str] = {}

    def write_key_file(
        self,
        path: Path,
        token_uri: str,
        email: str = "apiinv@sandbox.iam.gserviceaccount.com",
    ) -> Path:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_id = secrets.token_hex(20)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.public_keys[key_id] = public_pem
        document = {
            "type": "service_account",
            "project_id": "sandbox-project",
            "private_key_id": key_id,
            "private_key": private_pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": token_uri,
            "token_uri": token_uri,
        }
        from apiinv.store import write_atomic

        write_atomic(path, json.dumps(document, indent=2).encode())
        return path

    def token_handler(self, registry: TokenRegistry, audience: str | None = None):
        """Google's token endpoint: a signed JWT assertion in, an access token out."""

        def handle(request: Request) -> Response:
            from google.auth import exceptions, jwt

            form = request.form()
            if form.get("grant_type") != JWT_BEARER:
                return json_response({"error": "unsupported_grant_type"}, 400)
            try:
                claims = jwt.decode(
                    form.get("assertion", ""), certs=self.public_keys, verify=True, audience=audience
                )
            except (ValueError, exceptions.GoogleAuthError) as exc:
                return json_response({"error": "invalid_grant", "error_description": str(exc)[:120]}, 400)
            if "cloud-platform" not in str(claims.get("scope", "")):
                return json_response({"error": "invalid_scope"}, 400)
            token, lifetime = registry.issue("ya29")
            return json_response({"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"})

        return public(handle)


def require_bearer(registry: TokenRegistry, request: Request) -> Response | None:
    if registry.valid(bearer(request)):
        return None
    return error_response(401, "Request had invalid authentication credentials.", status="UNAUTHENTICATED")
