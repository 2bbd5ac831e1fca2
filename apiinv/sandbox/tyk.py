"""Tyk Dashboard's API listing, for the ``tyk`` preset of the ``rest`` source.

Built from Tyk's public reference:

- Dashboard API pagination (https://tyk.io/docs/tyk-apis/tyk-dashboard-api/pagination/): ``p`` starts at
  1; pages hold the Dashboard's ``page_size`` (10 by default, set in tyk_analytics.conf, never by the
  client); ``p`` of 0 or lower returns every item; the answer is ``{"apis": [...], "pages": N}``; the
  user's API key goes raw in the ``authorization`` header.
- "Get List of APIs" (https://tyk.io/docs/api-reference/apis/get-list-of-apis, dashboard-swagger.yml
  ``get /api/apis``): each element wraps an ``api_definition`` with ``api_id``, ``name``, ``active``,
  ``internal``, ``domain``, ``use_keyless``, ``use_standard_auth``, ``enable_jwt``, ``use_oauth2``,
  ``use_basic_auth``, ``tags`` and ``proxy.listen_path``.

Its APIs are generated from a seed: some on a custom domain, some keyless, some internal or inactive
(which no gateway serves). ``truth()`` is what a complete, right collection yields.
"""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

from apiinv.sandbox.server import Request, Response, SimApp, json_response

PAGE_SIZE = 10  # tyk_analytics.conf's default page_size


def definitions(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """``count`` API definitions as the Dashboard stores them."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        keyless = index % 5 == 0
        auth = rng.choice(["use_standard_auth", "enable_jwt", "use_oauth2", "use_basic_auth"])
        definition = {
            "api_id": uuid.UUID(int=rng.getrandbits(128)).hex,
            "name": f"api-{index:03d}",
            "active": index % 11 != 3,
            "internal": index % 13 == 7,
            "domain": f"api{index % 3}.acme.test" if index % 4 == 0 else "",
            "use_keyless": keyless,
            "use_standard_auth": not keyless and auth == "use_standard_auth",
            "enable_jwt": not keyless and auth == "enable_jwt",
            "use_oauth2": not keyless and auth == "use_oauth2",
            "use_basic_auth": not keyless and auth == "use_basic_auth",
            "tags": [f"team-{index % 4}"],
            "proxy": {"listen_path": f"/svc{index}/", "target_url": f"http://upstream{index}:8080/"},
        }
        found.append({"api_definition": definition, "created_at": "2026-01-01T00:00:00Z"})
    return found


AUTH_KINDS = {
    "use_standard_auth": "api_key",
    "enable_jwt": "jwt",
    "use_oauth2": "oauth2",
    "use_basic_auth": "basic",
}


def truth(apis: list[dict[str, Any]]) -> list[tuple[str, str, str, str, bool, tuple[str, ...]]]:
    """The rows a gateway inventory holds: (method, host, path, path_match, auth required, auth kinds)
    for each served API (not internal, not inactive)."""
    rows = []
    for api in apis:
        d = api["api_definition"]
        if d["internal"] or not d["active"]:
            continue
        kinds = tuple(sorted(kind for flag, kind in AUTH_KINDS.items() if d[flag]))
        rows.append(("*", d["domain"], d["proxy"]["listen_path"], "prefix", not d["use_keyless"], kinds))
    return sorted(rows)


class TykDashboard(SimApp):
    name = "tyk"

    def __init__(self, apis: list[dict[str, Any]], *, api_key: str, page_size: int = PAGE_SIZE) -> None:
        super().__init__()
        self.apis, self.api_key, self.page_size = apis, api_key, page_size
        self.route("GET", "/api/apis", self.list_apis)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("authorization") == self.api_key:
            return None
        return json_response({"Status": "Error", "Message": "Not authorised", "Meta": None}, 401)

    def list_apis(self, request: Request) -> Response:
        pages = max(1, math.ceil(len(self.apis) / self.page_size))
        page = request.int_arg("p", 1)
        if page <= 0:
            return json_response({"apis": self.apis, "pages": 1})
        start = (page - 1) * self.page_size
        return json_response({"apis": self.apis[start : start + self.page_size], "pages": pages})
