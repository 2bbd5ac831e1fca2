"""Azure API Management through Azure Resource Manager, for the ``azure_apim`` preset of the ``rest`` source.

Built from Azure/azure-rest-api-specs, specification/apimanagement/resource-manager/
Microsoft.ApiManagement/stable/2022-08-01:

- apimanagement.json, ``ApiManagementService_List``: ``GET /subscriptions/{subscriptionId}/providers/
  Microsoft.ApiManagement/service`` lists the services of every resource group; each has ``id``,
  ``name``, ``properties.gatewayUrl`` and ``properties.hostnameConfigurations[]`` of ``type`` Proxy,
  Portal, Management, Scm or DeveloperPortal with its ``hostName``.
- apimapis.json, ``Api_ListByService``: ``GET {service id}/apis`` (``$filter`` on ``isCurrent`` among
  others, ``$top``/``$skip``); ApiContract ``properties``: ``path``, ``apiVersion``,
  ``apiVersionSet.versioningScheme`` (Segment, Query, Header), ``apiRevision``, ``isCurrent`` (a
  non-current revision's id ends ``;rev=N``), ``subscriptionRequired`` and ``authenticationSettings``
  (``oAuth2``, ``openid``).
- apimapis.json, ``ApiOperation_ListByApi``: ``GET {api id}/operations``: ``properties.method``,
  ``properties.urlTemplate``. apimapiversionsets.json, ``ApiVersionSet_ListByService``.
- Every list is ``{"value": [...], "nextLink": <absolute URL>}`` (x-ms-pageable nextLinkName).
- Auth: Entra ID client credentials (``POST /{tenant}/oauth2/v2.0/token``) with the scope
  ``https://management.azure.com/.default``, then ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from apiinv.sandbox.server import Request, Response, SimApp, json_response, public
from apiinv.sandbox.tokens import TokenRegistry, bearer, client_credentials_handler

SCOPE = "https://management.azure.com/.default"
TOKEN_PATH = "/tenant-1/oauth2/v2.0/token"  # noqa: S105 - a path, not a secret
PROVIDER = "providers/Microsoft.ApiManagement/service"
PAGE = 2  # items per page: every listing of more pages through nextLink


def estate(subscription: str = "sub-1") -> list[dict[str, Any]]:
    """Three services over two resource groups, each with APIs of every versioning scheme and auth."""
    services = []
    for index, group in enumerate(["rg-east", "rg-west", "rg-west"]):
        name = f"apim{index}"
        sid = f"/subscriptions/{subscription}/resourceGroups/{group}/{PROVIDER}/{name}"
        hostnames = [
            {"type": "Proxy", "hostName": f"{name}.azure-api.net"},
            {"type": "DeveloperPortal", "hostName": f"{name}.developer.azure-api.net"},
            {"type": "Management", "hostName": f"{name}.management.azure-api.net"},
        ]
        if index == 1:
            hostnames.append({"type": "Proxy", "hostName": "api.contoso.example"})
        apis: list[dict[str, Any]] = []
        for n, (scheme, auth) in enumerate(
            [
                ("Segment", "subscription"),
                ("Query", "oauth2"),
                ("Header", "openid"),
                (None, "none"),
                (None, "both"),
            ]
        ):
            settings = {"oAuth2": {"authorizationServerId": "as1"}} if auth in ("oauth2", "both") else {}
            if auth == "openid":
                settings = {"openid": {"openidProviderId": "op1"}}
            properties: dict[str, Any] = {
                "displayName": f"api {n}",
                "path": "" if n == 3 else f"svc{n}",
                "apiRevision": "1",
                "isCurrent": True,
                "subscriptionRequired": auth in ("subscription", "both"),
                "authenticationSettings": settings,
                "protocols": ["https"],
            }
            if scheme:
                properties.update(
                    apiVersion="v2",
                    apiVersionSetId=f"{sid}/apiVersionSets/set{n}",
                    apiVersionSet={"id": f"{sid}/apiVersionSets/set{n}", "versioningScheme": scheme},
                )
            operations = [
                {"name": f"op{k}", "properties": {"method": method, "urlTemplate": f"/items{k}/{{id}}"}}
                for k, method in enumerate(["GET", "POST", "DELETE"][: 1 + n % 3])
            ]
            apis.append(
                {"id": f"{sid}/apis/api{n}", "name": f"api{n}", "properties": properties, "ops": operations}
            )
        # A revision in progress: listed by Azure with its ;rev= id, served by no gateway.
        draft = {**apis[0]["properties"], "apiRevision": "2", "isCurrent": False}
        apis.append(
            {"id": f"{sid}/apis/api0;rev=2", "name": "api0;rev=2", "properties": draft, "ops": apis[0]["ops"]}
        )
        services.append(
            {
                "id": sid,
                "name": name,
                "properties": {
                    "gatewayUrl": f"https://{name}.azure-api.net",
                    "hostnameConfigurations": hostnames,
                },
                "apis": apis,
            }
        )
    return services


def truth(services: list[dict[str, Any]]) -> list[tuple[str, str, str, bool, tuple[str, ...]]]:
    """(method, host, path, auth required, auth kinds) of every operation a gateway serves."""
    rows = []
    for service in services:
        proxies = [
            h["hostName"] for h in service["properties"]["hostnameConfigurations"] if h["type"] == "Proxy"
        ]
        for api in service["apis"]:
            p = api["properties"]
            if not p["isCurrent"]:
                continue
            base = f"/{p['path']}" if p["path"] else ""
            if p.get("apiVersionSet", {}).get("versioningScheme") == "Segment":
                base += f"/{p['apiVersion']}"
            settings = p["authenticationSettings"]
            kinds = tuple(
                sorted(
                    k
                    for k, on in (
                        ("api_key", p["subscriptionRequired"]),
                        ("oauth2", "oAuth2" in settings),
                        ("oidc", "openid" in settings),
                    )
                    if on
                )
            )
            for op in api["ops"]:
                for host in proxies:
                    rows.append(
                        (
                            op["properties"]["method"],
                            host,
                            base + op["properties"]["urlTemplate"],
                            bool(kinds),
                            kinds,
                        )
                    )
    return sorted(rows)


class AzureResourceManager(SimApp):
    name = "azure_apim"

    def __init__(
        self,
        services: list[dict[str, Any]],
        *,
        client_id: str,
        client_secret: str,
        subscription: str = "sub-1",
    ) -> None:
        super().__init__()
        self.services = services
        self.tokens = TokenRegistry()
        issue = client_credentials_handler(self.tokens, {client_id: client_secret})
        self.route("POST", TOKEN_PATH, public(lambda request: self.token(request, issue)))
        self.route("GET", f"/subscriptions/{subscription}/{PROVIDER}", self.list_services)
        group = "/subscriptions/{sub}/resourceGroups/{group}/" + PROVIDER + "/{service}"
        self.route("GET", group + "/apis", self.list_apis)
        self.route("GET", group + "/apiVersionSets", self.list_version_sets)
        self.route("GET", group + "/apis/{api}/operations", self.list_operations)
        self.base_url = ""

    def token(self, request: Request, issue: Any) -> Response:
        if request.form().get("scope") != SCOPE:
            return json_response({"error": "invalid_scope"}, 400)
        return issue(request)

    def authenticate(self, request: Request) -> Response | None:
        if self.tokens.valid(bearer(request)):
            return None
        return json_response({"error": {"code": "AuthenticationFailed"}}, 401)

    def _page(self, request: Request, values: list[Any]) -> Response:
        if request.query.get("api-version") != "2022-08-01":
            return json_response({"error": {"code": "MissingApiVersionParameter"}}, 400)
        skip = int(request.query.get("$skiptoken") or 0)
        found: dict[str, Any] = {"value": values[skip : skip + PAGE]}
        if skip + PAGE < len(values):
            # Azure's nextLink is the whole request again (filter included) with a skip token.
            query = urlencode({**request.query, "$skiptoken": skip + PAGE})
            found["nextLink"] = f"{self.base_url}{request.path}?{query}"
        return json_response(found)

    def _service(self, request: Request) -> dict[str, Any]:
        return next(s for s in self.services if s["name"] == request.params["service"])

    def list_services(self, request: Request) -> Response:
        return self._page(request, [{k: v for k, v in s.items() if k != "apis"} for s in self.services])

    def list_apis(self, request: Request) -> Response:
        apis = self._service(request)["apis"]
        if request.query.get("$filter") == "isCurrent eq true":
            apis = [a for a in apis if a["properties"]["isCurrent"]]
        return self._page(request, [{k: v for k, v in a.items() if k != "ops"} for a in apis])

    def list_version_sets(self, request: Request) -> Response:
        sets = [
            a["properties"]["apiVersionSet"]
            for a in self._service(request)["apis"]
            if "apiVersionSet" in a["properties"]
        ]
        return self._page(request, list({s["id"]: s for s in sets}.values()))

    def list_operations(self, request: Request) -> Response:
        api = next(a for a in self._service(request)["apis"] if a["name"] == request.params["api"])
        return self._page(request, api["ops"])
