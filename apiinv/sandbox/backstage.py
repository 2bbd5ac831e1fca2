"""The Backstage software catalog, for the ``backstage`` preset of the ``rest`` source.

Checked field by field against backstage/backstage, plugins/catalog-backend/src/schema/openapi.yaml
(commit 0038500; lines counted there), operation ``GetEntitiesByQuery``, ``GET /entities/by-query``,
mounted under ``/api/catalog`` (openapi.yaml:13-18):

- ``filter`` (openapi.yaml ``components.parameters.filter``): conditions ``key=value`` on an entity's
  dotted paths, always case-insensitive (``kind=api`` matches kind ``API``); ``limit`` (20 by default,
  openapi.yaml:81); ``cursor`` (openapi.yaml:61-86): ``filter``, ``orderField`` and ``fullTextFilter``
  are fixed by the first page, and "If any of ``filter``, ``orderField``, ``fullTextFilter`` is specified
  together with ``cursor``, only the latter is taken into consideration": a page after the first may
  repeat the filter, or not, and gets the same query's next page.
- The answer, schema ``EntitiesQueryResponse``: ``items``, ``totalItems`` and ``pageInfo`` are all
  required; ``pageInfo.nextCursor`` is absent on the last page.
- An API entity (kind API, descriptor format) has ``metadata.name``, ``metadata.uid``,
  ``metadata.annotations`` keyed like ``backstage.io/source-location`` and ``spec.type`` (openapi,
  asyncapi, graphql, grpc), ``spec.lifecycle``, ``spec.owner`` and ``spec.definition``: the API's
  document as text. Auth: a static token as ``Authorization: Bearer`` (openapi.yaml:20-22, security
  scheme JWT).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from apiinv.sandbox.server import Request, Response, SimApp, json_response

DOCUMENT = """openapi: 3.0.3
info: {{title: {name}, version: "1"}}
{servers}components: {{securitySchemes: {{jwt: {{type: http, scheme: bearer, bearerFormat: JWT}}}}}}
security: [{{jwt: []}}]
paths:
  /{name}/items: {{get: {{}}, post: {{}}}}
  /{name}/health: {{get: {{security: []}}}}
"""


def entities(count: int) -> list[dict[str, Any]]:
    """``count`` API entities: OpenAPI ones (with or without servers) and a gRPC one every fifth."""
    found = []
    for index in range(count):
        name = f"svc{index}"
        kind = "grpc" if index % 5 == 4 else "openapi"
        servers = f"servers: [{{url: 'https://{name}.example.com/v1'}}]\n" if index % 2 == 0 else ""
        definition = (
            DOCUMENT.format(name=name, servers=servers) if kind == "openapi" else "syntax = 'proto3';"
        )
        found.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "API",
                "metadata": {
                    "name": name,
                    "uid": f"uid-{index}",
                    "annotations": {"backstage.io/source-location": f"url:https://git.example/{name}/"},
                    "tags": ["catalog"],
                },
                "spec": {
                    "type": kind,
                    "lifecycle": "production",
                    "owner": "team-a",
                    "definition": definition,
                },
            }
        )
    # Not an API: the catalog answers it unless the query's filter says kind=api.
    found.insert(
        1,
        {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web", "uid": "uid-web"},
            "spec": {"type": "website", "owner": "team-a"},
        },
    )
    return found


def truth(listed: list[dict[str, Any]]) -> list[tuple[str, str, str, bool, tuple[str, ...]]]:
    """(method, host, path, auth required, auth kinds) of every operation of every OpenAPI entity."""
    rows = []
    for entity in listed:
        if entity["kind"] != "API" or entity["spec"]["type"] != "openapi":
            continue
        name = entity["metadata"]["name"]
        host, base = (
            (f"{name}.example.com", "/v1") if "servers:" in entity["spec"]["definition"] else ("", "")
        )
        rows += [
            ("GET", host, f"{base}/{name}/items", True, ("jwt",)),
            ("POST", host, f"{base}/{name}/items", True, ("jwt",)),
            ("GET", host, f"{base}/{name}/health", False, ()),
        ]
    return sorted(rows)


class BackstageCatalog(SimApp):
    name = "backstage"

    def __init__(self, listed: list[dict[str, Any]], *, token: str) -> None:
        super().__init__()
        self.listed, self.token = listed, token
        self.route("GET", "/api/catalog/entities/by-query", self.by_query)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("authorization") == f"Bearer {self.token}":
            return None
        return json_response({"error": {"name": "AuthenticationError"}}, 401)

    def by_query(self, request: Request) -> Response:
        cursor = request.query.get("cursor")
        if cursor:  # the cursor carries the first page's query; a filter beside it is not read
            try:
                query = json.loads(base64.urlsafe_b64decode(cursor))
                conditions, start = query["filter"], int(query["start"])
            except (ValueError, KeyError, TypeError):
                return json_response({"error": {"name": "InputError", "message": "Malformed cursor"}}, 400)
        else:
            conditions, start = request.query.get("filter", ""), 0
        matching = [entity for entity in self.listed if _matches(entity, conditions)]
        limit = request.int_arg("limit", 20)
        page: dict[str, Any] = {"items": matching[start : start + limit], "totalItems": len(matching)}
        page["pageInfo"] = {}
        if start + limit < len(matching):
            following = json.dumps({"filter": conditions, "start": start + limit}).encode()
            page["pageInfo"]["nextCursor"] = base64.urlsafe_b64encode(following).decode()
        return json_response(page)


def _matches(entity: dict[str, Any], conditions: str) -> bool:
    """One filter set: every ``key=value`` (or bare ``key``) holds, keys and values case-insensitive."""
    for condition in filter(None, conditions.split(",")):
        key, _, value = condition.partition("=")
        found: Any = entity
        for step in key.lower().split("."):
            found = (
                next((v for k, v in found.items() if k.lower() == step), None)
                if isinstance(found, dict)
                else None
            )
        if found is None or (value and str(found).lower() != value.lower()):
            return False
    return True
