"""Wallarm's API Discovery inventory, for the ``wallarm`` preset of the ``rest`` source.

Built from Wallarm's public API reference, the Swagger 2.0 document its API console serves
(https://apiconsole.eu1.wallarm.com, "Wallarm API" 1.28.2; a copy: github.com/slega/wallarm-mcp-server,
wallarm-swager-raw.json), tag "Endpoint":

- ``GET /v4/clients/{client_id}/rules/endpoints`` "Fetch endpoints": a JSON body whose ``filter`` is
  required and requires ``clientid``; ``limit`` (default 100, maximum 1000) and ``offset`` (default 0)
  are query parameters; the answer is ``{"status": 200, "body": [Endpoint, ...]}``; 400 "Some of
  parameters have inappropriate values", 403 "You are not authenticated" (body a string).
- ``GET /v4/clients/{client_id}/rules/endpoints/count`` "Count Endpoint by filter": the same filter;
  ``{"status": 200, "body": N}``.
- definition ``Endpoint``: ``id``, ``clientid``, ``method``, ``url``, ``domain``, ``path`` (example
  ``v1/users``: no leading slash), ``hits_count``, ``pii_group`` (the sensitive data groups of its
  parameters, e.g. ``Financial``), ``actual``, ``orphan``, ``internal``, ``created_at`` and
  ``updated_at`` (epoch seconds), ``discovered_at`` and ``changed_at`` (RFC 3339), ``request_stats``.
  It says nothing of authentication. A path parameter is named as definition ``Parameter`` names
  them (``parameter_1``).

The token goes in ``X-WallarmApi-Token`` (docs.wallarm.com/api/overview/, "Your own API client"); the
client id is the one ``POST /v1/user`` answers (docs.wallarm.com/api/request-examples/).

Its endpoints are generated from a seed: some with sensitive data, some no longer actual.
``truth()`` is what a complete, right collection yields.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from apiinv.sandbox.server import Request, Response, SimApp, json_response

LISTING = "/v4/clients/{client_id}/rules/endpoints"
MAX_LIMIT = 1000  # "maximum": 1000 for limit
PII_GROUPS = ("Financial", "Medical", "Personal", "Technical", "Login")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def endpoints(count: int, *, client_id: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` discovered endpoints as the listing answers them."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        domain = f"api{index % 3}.acme.test"
        path = f"v{1 + index % 2}/res{index}" + ("/{parameter_1}" if index % 4 == 0 else "")
        discovered = START + timedelta(hours=index)
        found.append(
            {
                "id": 1000 + index,
                "clientid": client_id,
                "method": ("GET", "POST", "PUT", "PATCH", "DELETE")[index % 5],
                "url": f"{domain}/{path}",
                "domain": domain,
                "path": path,
                "hits_count": rng.randint(1, 10_000),
                "pii_group": sorted(rng.sample(PII_GROUPS, k=index % 3)),
                "actual": index % 9 != 4,
                "orphan": False,
                "internal": False,
                "created_at": int(discovered.timestamp()),
                "updated_at": int(discovered.timestamp()) + 3600,
                "discovered_at": discovered.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "changed_at": (discovered + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "request_stats": {"total_24h": 10, "total_7d": 70, "avg_24h": 0.4},
            }
        )
    return found


def truth(listed: list[dict[str, Any]]) -> list[tuple[str, str, str, str, bool | None, tuple[str, ...]]]:
    """The rows a traffic inventory holds: (method, host, path, status, auth required, sensitive data),
    one per endpoint; an endpoint no longer actual is inactive, and auth is unknown (the listing has none)."""
    return sorted(
        (
            e["method"],
            e["domain"],
            "/" + e["path"],
            "active" if e["actual"] else "inactive",
            None,
            tuple(e["pii_group"]),
        )
        for e in listed
    )


def _error(status: int, body: Any) -> Response:
    return json_response({"status": status, "body": body}, status)


class WallarmApi(SimApp):
    name = "wallarm"

    def __init__(self, listed: list[dict[str, Any]], *, token: str, client_id: int) -> None:
        super().__init__()
        self.listed, self.token, self.client_id = listed, token, client_id
        self.route("GET", LISTING, self.list_endpoints)
        self.route("GET", LISTING + "/count", self.count)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("x-wallarmapi-token") == self.token:
            return None
        return _error(403, "You are not authenticated")

    def _filtered(self, request: Request) -> list[dict[str, Any]] | Response:
        """The client's endpoints, or the answer to a request without a filter naming that client."""
        try:
            document = json.loads(request.body or b"{}")
        except ValueError:
            return _error(400, {"body": {"error": "must be JSON"}})
        wanted = document.get("filter", {}).get("clientid") if isinstance(document, dict) else None
        if wanted is None:
            return _error(400, {"filter": {"error": "clientid is missing"}})
        if str(request.params["client_id"]) != str(self.client_id) or wanted != self.client_id:
            return _error(403, "You are not authenticated")
        return self.listed

    def list_endpoints(self, request: Request) -> Response:
        found = self._filtered(request)
        if isinstance(found, Response):
            return found
        limit, offset = request.int_arg("limit", 100), request.int_arg("offset", 0)
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            return _error(400, {"limit": {"error": f"must be within 1..{MAX_LIMIT}"}})
        return json_response({"status": 200, "body": found[offset : offset + limit]})

    def count(self, request: Request) -> Response:
        found = self._filtered(request)
        return found if isinstance(found, Response) else json_response({"status": 200, "body": len(found)})
