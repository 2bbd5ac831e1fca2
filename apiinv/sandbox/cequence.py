"""Cequence UAP as the Cequence adapter's documented defaults describe it: a Keycloak client-credentials
token endpoint, and the traffic inventory of endpoints (offset/limit pages with a total) and hosts."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import EstateApp, rfc3339
from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import Api, EstateDay, Operation
from apiinv.sandbox.openapi_specs import EXAMPLE_TRAFFIC
from apiinv.sandbox.server import Request, Response, json_response
from apiinv.sandbox.tokens import TokenRegistry, bearer, client_credentials_handler

TOKEN_PATH = "/auth/realms/cequence/protocol/openid-connect/token"  # noqa: S105 - a path, not a secret
AUTH_TYPES = {"apikey": "API_KEY", "oauth2": "OAUTH2", "jwt": "JWT", "basic": "BASIC"}
# Paths attackers probe with, seen in traffic on the first traffic host: real endpoints to report, with
# characters a spreadsheet or a key format could choke on.
PROBE_PATHS = ("/files/annual report.pdf", "/search|grep", "/login' OR '1'='1", '/v1/"quoted"/=cmd|calc')
# Words some teams' clients put where a template has a parameter (/pets/cat): a template serves them too.
WORD_VALUES = ("cat", "primary", "latest")


def risk_level(score: float) -> str:
    return "CRITICAL" if score >= 90 else "HIGH" if score >= 70 else "MEDIUM" if score >= 40 else "LOW"


class CequenceApp(EstateApp):
    name = "cequence"

    def __init__(
        self, estate, *, client_id: str, client_secret: str, token_lifetime: float = 1800, **kwargs
    ) -> None:
        super().__init__(estate, **kwargs)
        self.tokens = TokenRegistry(lifetime=token_lifetime)
        self.route("POST", TOKEN_PATH, client_credentials_handler(self.tokens, {client_id: client_secret}))
        self.route("GET", "/apisec/api/v1/endpoints", self.endpoints)
        self.route("GET", "/apisec/api/v1/hosts", self.hosts)

    def authenticate(self, request: Request) -> Response | None:
        if self.tokens.valid(bearer(request)):
            return None
        return json_response({"error": "invalid_token", "error_description": "Token is not active"}, 401)

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def _observed_path(self, api: Api, op: Operation, base_path: str) -> str:
        """The path as traffic shows it: concrete ids for some, a :param template for others."""
        path = op.template
        rng = random.Random(f"{api.id}:{op.template}")
        for param in op.params:
            if op.concrete_in_traffic:
                value = (
                    str(rng.randint(1000, 999_999))
                    if rng.random() < 0.5
                    else str(uuid.UUID(int=rng.getrandbits(128)))
                )
                if api.index % 10 == 7:  # every tenth API's clients use words (drawn as above all the same)
                    value = WORD_VALUES[len(path) % len(WORD_VALUES)]
            else:
                value = ":" + param
            path = path.replace("{" + param + "}", value)
        return base_path + path

    @staticmethod
    def _observed_host(api: Api, host: str) -> str:
        if api.index % 5 == 0:
            return host.upper()
        if api.index % 7 == 0:
            return host + ":443"
        return host

    def _build(self, day: EstateDay) -> list[dict[str, Any]]:
        items = []
        for api, op, host, base_path in day.traffic_calls():
            auth = None if op.public else api.auth_on(day.day)
            score = api.risk_score(day.day, op)
            elsewhere = "" if host == api.host else f":{host}"
            rng = random.Random(f"traffic:{api.id}:{op.method}:{op.template}{elsewhere}")
            quiet = api.gateway is not None and api.index % 11 == 0  # deployed but no recent traffic
            last_seen_days = rng.randint(45, 120) if quiet else rng.random()
            items.append(
                {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "host": self._observed_host(api, host),
                    "method": op.method if api.index % 9 else op.method.lower(),
                    "path": self._observed_path(api, op, base_path),
                    "active": not quiet,
                    "transactionCount": 0 if quiet else rng.randint(10, 2_000_000),
                    "riskScore": score,
                    "riskLevel": risk_level(score),
                    "sensitiveDataTypes": list(op.sensitive),
                    "authenticated": auth is not None,
                    "authType": AUTH_TYPES.get(auth or ""),
                    "accessType": "EXTERNAL" if api.index % 4 else "INTERNAL",
                    "apiName": api.name if api.gateway or api.in_spec else None,
                    "firstSeen": rfc3339(self.moment(rng.randint(60, 500))),
                    "lastSeen": rfc3339(self.moment(last_seen_days)),
                }
            )
        if items:
            for number, path in enumerate(PROBE_PATHS):
                items.append(
                    {
                        **items[0],
                        "id": str(uuid.UUID(int=random.Random(f"probe:{path}").getrandbits(128))),
                        "method": "GET",
                        "path": path,
                        "authenticated": False,
                        "authType": None,
                        "apiName": None,
                        "transactionCount": 3 + number,
                    }
                )
            for number, (method, host, path, auth_type) in enumerate(EXAMPLE_TRAFFIC):
                items.append(
                    {
                        **items[0],
                        "id": str(
                            uuid.UUID(int=random.Random(f"example:{method}:{host}{path}").getrandbits(128))
                        ),
                        "host": host,
                        "method": method,
                        "path": path,
                        "active": True,
                        "transactionCount": 100 + number,
                        "sensitiveDataTypes": [],
                        "authenticated": auth_type is not None,
                        "authType": auth_type,
                        "apiName": None,
                        "lastSeen": rfc3339(self.moment(0)),
                    }
                )
        return items

    def endpoints(self, request: Request) -> Response:
        items = self.view(self._build)
        offset = max(0, request.int_arg("offset", 0))
        limit = min(1000, max(1, request.int_arg("limit", 100)))
        return json_response(
            {"items": items[offset : offset + limit], "total": len(items), "offset": offset, "limit": limit}
        )

    def hosts(self, request: Request) -> Response:
        hosts: dict[str, dict[str, Any]] = {}
        for item in self.view(self._build):
            host = item["host"].lower().removesuffix(":443")
            entry = hosts.setdefault(
                host,
                {
                    "host": host,
                    "endpoints": 0,
                    "discoveredBy": "API Spyder",
                    "findings": {"critical": 0, "high": 0, "medium": 0, "low": 0},
                },
            )
            entry["endpoints"] += 1
            entry["findings"][item["riskLevel"].lower()] += 1
        listed = sorted(hosts.values(), key=lambda h: h["host"])
        offset = max(0, request.int_arg("offset", 0))
        limit = min(1000, max(1, request.int_arg("limit", 100)))
        return json_response({"items": listed[offset : offset + limit], "total": len(listed)})


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        app = CequenceApp(
            sandbox.estate,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            token_lifetime=sandbox.token_lifetime,
            rate_limit=sandbox.rate_limits.get("cequence"),
            day=sandbox.day,
            latency=sandbox.latency,
        )
        super().__init__(sandbox, app)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        return {"api_base_url": url, "auth_type": "oauth", "token_url": url + TOKEN_PATH}

    def env(self, folder: Path) -> dict[str, str]:
        return {
            "APIINV_CEQUENCE_CLIENT_ID": self.sandbox.client_id,
            "APIINV_CEQUENCE_CLIENT_SECRET": self.sandbox.client_secret,
        }

    def secrets(self) -> list[str]:
        assert isinstance(self.app, CequenceApp)
        return [self.sandbox.client_secret, *self.app.tokens.handed_out]

    def truth(self) -> dict[str, int]:
        calls = self.sandbox.estate.on(self.sandbox.day).traffic_calls()
        return {"endpoints": len(calls) + (len(PROBE_PATHS) + len(EXAMPLE_TRAFFIC) if calls else 0)}
