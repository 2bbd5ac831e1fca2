"""A JSON-listing traffic tool for the ``rest`` source, shaped like Akto's published API: every call a
POST with a JSON body and an ``X-API-KEY`` header; ``/api/getAllCollections`` lists collections (one per
host, ``hostName``), ``/api/fetchApiInfosForCollection`` a collection's endpoints (``apiInfoList``),
each with a nested id (``id.url``, ``id.method``), the auth combinations seen (``allAuthTypesFound``, a
list of lists), access types and epoch-second timestamps. It sees a part of the estate's traffic.

Akto's public API reference, which these names were checked against:

- github.com/akto-api-security/Documentation api-reference/api-reference.md: the key from Settings >
  Integrations in ``X-API-KEY``; .gitbook/assets/AktoSwagger.json ``post /api/getAllCollections``: an
  object body; the answer's ``apiCollections`` items carry ``id``, ``hostName``, ``displayName``,
  ``name``, ``urlsCount``, ``startTs``.
- api-reference/discovery/fetch-data.md: ``POST /api/fetchApiInfosForCollection`` ("detailed API
  information for a given collection"); its body ``{apiCollectionId}`` and answer ``apiInfoList`` are
  what Akto's own dashboard sends and reads (akto-api-security/akto,
  apps/dashboard/web/polaris_web/web/src/apps/dashboard/pages/observe/api.js).
- Each ``apiInfoList`` item is an ApiInfo (akto-api-security/akto,
  libs/dao/src/main/java/com/akto/dto/ApiInfo.java): ``id`` (ApiInfoKey: ``apiCollectionId``, ``url``,
  ``method``), ``allAuthTypesFound`` (Set<Set<AuthType>>; AuthType UNAUTHENTICATED, BASIC,
  AUTHORIZATION_HEADER, JWT, API_TOKEN, BEARER, CUSTOM, API_KEY, MTLS, SESSION_TOKEN; one combination
  holding UNAUTHENTICATED makes the endpoint unauthenticated, calculateActualAuth), ``apiAccessTypes``
  (PUBLIC, PRIVATE, PARTNER, THIRD_PARTY), ``lastSeen`` and ``discoveredTimestamp`` (int, epoch seconds).

Its tools.yaml entry is the ``akto`` preset (apiinv/presets/akto.yaml), pointed at 127.0.0.1.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import EstateApp, epoch_s
from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import EstateDay
from apiinv.sandbox.server import Request, Response, json_response

AUTH_TYPES = {"apikey": "API_KEY", "oauth2": "BEARER", "jwt": "JWT", "basic": "BASIC"}
# The tools.yaml entry a user writes for Akto (docs/sources.md), its base URL and key aside.
ENTRY: dict[str, Any] = {"preset": "akto"}


def sees(api_index: int) -> bool:
    """The part of the estate's traffic this tool watches."""
    return api_index % 3 == 0


class RestApp(EstateApp):
    name = "rest"

    def __init__(self, estate, *, api_key: str, **kwargs) -> None:
        super().__init__(estate, **kwargs)
        self.api_key = api_key
        self.route("POST", "/api/getAllCollections", self.collections)
        self.route("POST", "/api/fetchApiInfosForCollection", self.api_infos)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("x-api-key") == self.api_key:
            return None
        return json_response({"actionErrors": ["Unauthorized"]}, 401)

    def _build(self, day: EstateDay) -> dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]:
        by_host: dict[str, list[dict[str, Any]]] = {}
        for api, op in day.in_traffic():
            if not sees(api.index):
                continue
            auth = None if op.public else api.auth_on(day.day)
            rng = random.Random(f"rest:{api.id}:{op.method}:{op.template}")
            by_host.setdefault(api.host, []).append(
                {
                    "id": {"url": api.base_path + op.template, "method": op.method},
                    "allAuthTypesFound": [[AUTH_TYPES.get(auth, "CUSTOM")]]
                    if auth
                    else [["UNAUTHENTICATED"]],
                    "apiAccessTypes": ["PUBLIC"] if api.index % 4 else ["PRIVATE"],
                    "discoveredTimestamp": epoch_s(self.moment(rng.randint(60, 500))),
                    "lastSeen": epoch_s(self.moment(rng.random())),
                }
            )
        collections = {}
        for number, host in enumerate(sorted(by_host), start=1_000_001):
            endpoints = by_host[host]
            for endpoint in endpoints:
                endpoint["id"]["apiCollectionId"] = number
            collections[number] = ({"id": number, "hostName": host, "displayName": host}, endpoints)
        return collections

    def collections(self, request: Request) -> Response:
        listed = [collection for collection, _ in self.view(self._build).values()]
        return json_response({"apiCollections": listed})

    def api_infos(self, request: Request) -> Response:
        try:
            wanted = json.loads(request.body or b"{}").get("apiCollectionId")
        except (ValueError, AttributeError):
            wanted = None
        found = self.view(self._build).get(wanted) if isinstance(wanted, int) else None
        if found is None:
            return json_response({"actionErrors": [f"no collection {wanted!r}"]}, 422)
        return json_response({"apiInfoList": found[1]})


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        app = RestApp(
            sandbox.estate,
            api_key=sandbox.api_key,
            rate_limit=sandbox.rate_limits.get("rest"),
            day=sandbox.day,
            latency=sandbox.latency,
        )
        super().__init__(sandbox, app)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        return {**ENTRY, "api_base_url": url}

    def env(self, folder: Path) -> dict[str, str]:
        return {"APIINV_REST_API_KEY": self.sandbox.api_key}

    def secrets(self) -> list[str]:
        return [self.sandbox.api_key]

    def truth(self) -> dict[str, int]:
        seen = [
            (api, op) for api, op in self.sandbox.estate.on(self.sandbox.day).in_traffic() if sees(api.index)
        ]
        return {"endpoints": len(seen), "collections": len({api.host for api, _ in seen})}
