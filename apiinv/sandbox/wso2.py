"""WSO2 API Manager 4.x publisher REST API v4, for the ``wso2`` preset of the ``rest`` source.

Built from wso2/carbon-apimgt's OpenAPI of the publisher API (components/apimgt/
org.wso2.carbon.apimgt.rest.api.publisher.v1/src/main/resources/publisher-api.yaml):

- ``GET /apis`` (operationId getAllAPIs) takes ``limit``, ``offset`` and ``expand``; with expand it
  answers APIListExpanded: ``{count, list: [API], pagination: {offset, limit, total, next, previous}}``,
  ``next`` relative to the publisher base and built from limit and offset only (schema Pagination).
- API: ``id``, ``name``, ``context`` (may hold ``{version}``), ``version``, ``isDefaultVersion``,
  ``lifeCycleStatus``, ``securityScheme`` (oauth2, api_key, basic_auth, mutualssl and the
  ``oauth_basic_auth_api_key_mandatory`` flag) and ``operations`` of APIOperations ``{target, verb,
  authType}`` (authType ``None``: no auth).
- An API created without operations gets the default resource ``/*`` for each HTTP method, which
  serves every path below its context (wso2/carbon-apimgt, the publisher's APIMappingUtil
  ``getDefaultOperationsList``: ``operationsDTO.setTarget("/*")`` for each of HTTP_DEFAULT_METHODS).
- Security: OAuth2 with the ``apim:api_view`` scope; a client-credentials token from ``/oauth2/token``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from apiinv.sandbox.server import Request, Response, SimApp, json_response
from apiinv.sandbox.tokens import TokenRegistry, bearer, client_credentials_handler

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path, not a secret
BASE = "/api/am/publisher/v4"
# securityScheme values as apiinv names their auth kinds (the *_mandatory values are flags, no kind).
SCHEMES = {"oauth2": "oauth2", "api_key": "api_key", "basic_auth": "basic", "mutualssl": "mtls"}


def apis(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """``count`` APIs as the publisher returns them expanded."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        version = f"{1 + index % 3}.0.0"
        scheme = rng.choice(["oauth2", "api_key", "basic_auth"])
        operations = [
            {
                "target": "/*" if index % 5 == 2 else f"/items{n}",
                "verb": verb,
                "authType": "None" if (index + n) % 7 == 0 else "Application",
            }
            for n, verb in enumerate(["GET", "POST", "DELETE"][: 1 + index % 3])
        ]
        found.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "name": f"api{index}",
                "context": f"/{{version}}/svc{index}" if index % 4 == 1 else f"/svc{index}",
                "version": version,
                "isDefaultVersion": index % 3 == 0,
                "lifeCycleStatus": "PUBLISHED",
                "securityScheme": [scheme, "oauth_basic_auth_api_key_mandatory"],
                "operations": operations,
            }
        )
    return found


def truth(listed: list[dict[str, Any]]) -> list[tuple[str, str, str, str, bool, tuple[str, ...]]]:
    """(method, host, path, path_match, auth required, auth kinds) of every operation, at the versioned
    context and, for a default version, at the context without the version too; a ``/*`` resource is a
    prefix at its context."""
    rows = []
    for api in listed:
        context, version = api["context"], api["version"]
        contexts = [
            context.replace("{version}", version) if "{version}" in context else f"{context}/{version}"
        ]
        if api["isDefaultVersion"]:
            contexts.append(context.replace("/{version}", ""))
        kinds = tuple(sorted(SCHEMES[s] for s in api["securityScheme"] if s in SCHEMES))
        for op in api["operations"]:
            open_ = op["authType"] == "None"
            below = op["target"].endswith("/*")  # the default resource: everything below the context
            target, match = (op["target"][:-2], "prefix") if below else (op["target"], "exact")
            for base in contexts:
                rows.append((op["verb"], "", base + target, match, not open_, () if open_ else kinds))
    return sorted(rows)


class Wso2Publisher(SimApp):
    name = "wso2"

    def __init__(self, listed: list[dict[str, Any]], *, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.listed = listed
        self.tokens = TokenRegistry()
        self.route("POST", TOKEN_PATH, client_credentials_handler(self.tokens, {client_id: client_secret}))
        self.route("GET", f"{BASE}/apis", self.list_apis)

    def authenticate(self, request: Request) -> Response | None:
        if self.tokens.valid(bearer(request)):
            return None
        return json_response({"code": 900901, "message": "Invalid Credentials"}, 401)

    def list_apis(self, request: Request) -> Response:
        limit, offset = request.int_arg("limit", 25), request.int_arg("offset", 0)
        page = self.listed[offset : offset + limit]
        if request.query.get("expand") != "true":  # APIInfo: no operations, no default-version flag
            page = [
                {k: v for k, v in api.items() if k not in ("operations", "isDefaultVersion")} for api in page
            ]
        total = len(self.listed)
        following = f"/apis?limit={limit}&offset={offset + limit}" if offset + limit < total else ""
        pagination = {"offset": offset, "limit": limit, "total": total, "next": following, "previous": ""}
        return json_response({"count": len(page), "list": page, "pagination": pagination})
