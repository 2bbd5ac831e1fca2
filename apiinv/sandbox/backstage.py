"""The Backstage software catalog, for the ``backstage`` preset of the ``rest`` source.

Built from backstage/backstage, plugins/catalog-backend/src/schema/openapi.yaml (operation
``GetEntitiesByQuery``, ``GET /entities/by-query``, mounted under ``/api/catalog``): ``filter`` (here
``kind=api``), ``limit`` and ``cursor``; the answer is ``{items, totalItems, pageInfo: {nextCursor}}``
and a page's ``nextCursor`` is absent on the last page. An API entity (kind API, descriptor format) has
``metadata.name``, ``metadata.uid``, ``metadata.annotations`` keyed like ``backstage.io/source-location``
and ``spec.type`` (openapi, asyncapi, graphql, grpc), ``spec.lifecycle``, ``spec.owner`` and
``spec.definition``: the API's document as text. Auth: a static token as ``Authorization: Bearer``.
"""

from __future__ import annotations

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
    return found


def truth(listed: list[dict[str, Any]]) -> list[tuple[str, str, str, bool, tuple[str, ...]]]:
    """(method, host, path, auth required, auth kinds) of every operation of every OpenAPI entity."""
    rows = []
    for entity in listed:
        if entity["spec"]["type"] != "openapi":
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
        if request.query.get("filter") != "kind=api":
            return json_response({"error": {"name": "InputError"}}, 400)
        limit, start = request.int_arg("limit", 20), int(request.query.get("cursor") or 0)
        page: dict[str, Any] = {"items": self.listed[start : start + limit], "totalItems": len(self.listed)}
        page["pageInfo"] = {"nextCursor": str(start + limit)} if start + limit < len(self.listed) else {}
        return json_response(page)
