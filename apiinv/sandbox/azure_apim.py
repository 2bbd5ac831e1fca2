"""Azure API Management through Azure Resource Manager, for the ``azure_apim`` preset of the ``rest`` source.

Checked field by field against Azure/azure-rest-api-specs, specification/apimanagement/resource-manager/
Microsoft.ApiManagement/stable/2022-08-01 (apimapis.json at commit 050a720; lines counted there):

- apimanagement.json, ``ApiManagementService_List``: ``GET /subscriptions/{subscriptionId}/providers/
  Microsoft.ApiManagement/service`` lists the services of every resource group: ``id``, ``name``,
  ``properties.gatewayUrl`` (and ``gatewayRegionalUrl``, ``developerPortalUrl``, ``managementApiUrl``)
  and ``properties.hostnameConfigurations[]`` of ``type`` Proxy, Portal, Management, Scm or
  DeveloperPortal with its ``hostName``. The default gateway host is itself listed there, a Proxy with
  ``certificateSource`` BuiltIn, beside custom domains (examples/ApiManagementCreateService.json and
  ApiManagementCreateServiceWithCustomHostnameKeyVault.json, their 200 bodies); default portal and
  management hosts are not (they are the ``...Url`` properties).
- apimapis.json:37-42, ``Api_ListByService``: ``GET {service id}/apis``; apimapis.json:60-64 its
  ``$filter`` allows ``isCurrent`` with ``eq, ne``; ``$top``/``$skip``; ``expandApiVersionSet`` "Include
  full ApiVersionSet resource in response": without it an API carries ``apiVersionSetId`` alone and no
  ``apiVersionSet.versioningScheme``. ApiContract ``properties`` (definitions.json): ``path``,
  ``apiVersion``, ``apiVersionSet.versioningScheme`` (Segment, Query, Header), ``apiRevision``,
  ``isCurrent`` (a non-current revision's id ends ``;rev=N``), ``subscriptionRequired`` and
  ``authenticationSettings``: ``oAuth2AuthenticationSettings`` and ``openidAuthenticationSettings``
  lists, ``oAuth2``/``openid`` the first of each or null
  (examples/ApiManagementCreateApiWithMultipleAuthServers.json, its 200 body).
- apimapis.json, ``ApiOperation_ListByApi``: ``GET {api id}/operations``: ``properties.method``,
  ``properties.urlTemplate``, which "May include parameters. Example: /customers/{cid}/orders/{oid}/
  ?date={date}" (definitions.json, OperationContractProperties): a query part after the path.
  apimapiversionsets.json, ``ApiVersionSet_ListByService``.
- Every list is ``{"value": [...], "nextLink": <absolute URL>}`` (``x-ms-pageable`` ``nextLinkName``).
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
        # The default gateway host is listed as a Proxy with a BuiltIn certificate; only custom domains
        # of the other kinds are (their defaults are the service's portalUrl, managementApiUrl...).
        hostnames = [{"type": "Proxy", "hostName": f"{name}.azure-api.net", "certificateSource": "BuiltIn"}]
        if index == 1:
            hostnames += [
                {"type": "Proxy", "hostName": "api.contoso.example", "certificateSource": "KeyVault"},
                {"type": "Management", "hostName": "mgmt.contoso.example", "certificateSource": "KeyVault"},
                {
                    "type": "DeveloperPortal",
                    "hostName": "dev.contoso.example",
                    "certificateSource": "KeyVault",
                },
            ]
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
            oauth2 = [{"authorizationServerId": "as1"}] if auth in ("oauth2", "both") else []
            openid = [{"openidProviderId": "op1"}] if auth == "openid" else []
            # The single oAuth2/openid is the first of its list (or null), as Azure answers it.
            settings = {
                "oAuth2": oauth2[0] if oauth2 else None,
                "oAuth2AuthenticationSettings": oauth2,
                "openid": openid[0] if openid else None,
                "openidAuthenticationSettings": openid,
            }
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
            # A template may carry a query (definitions.json, OperationContractProperties.urlTemplate:
            # "/customers/{cid}/orders/{oid}/?date={date}"): the gateway routes on the path alone.
            operations.append(
                {"name": "search", "properties": {"method": "GET", "urlTemplate": "/search?$top={top}"}}
            )
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
                    "gatewayRegionalUrl": f"https://{name}-eastus-01.regional.azure-api.net",
                    "developerPortalUrl": f"https://{name}.developer.azure-api.net",
                    "managementApiUrl": f"https://{name}.management.azure-api.net",
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
                        ("oauth2", settings["oAuth2AuthenticationSettings"]),
                        ("oidc", settings["openidAuthenticationSettings"]),
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
                            base + op["properties"]["urlTemplate"].partition("?")[0],
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
        undeclared = sorted(set(request.query) - {"api-version", "$skiptoken"})
        if undeclared:  # ApiManagementService_List declares api-version alone; no guess that ARM ignores more
            return json_response({"error": {"code": "InvalidQueryParameter", "message": undeclared[0]}}, 400)
        return self._page(request, [{k: v for k, v in s.items() if k != "apis"} for s in self.services])

    def list_apis(self, request: Request) -> Response:
        apis = self._service(request)["apis"]
        if request.query.get("$filter") == "isCurrent eq true":
            apis = [a for a in apis if a["properties"]["isCurrent"]]
        expand = request.query.get("expandApiVersionSet") == "true"
        return self._page(request, [_listed(a, expand_version_set=expand) for a in apis])

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


def _listed(api: dict[str, Any], *, expand_version_set: bool) -> dict[str, Any]:
    """An API as Api_ListByService answers it: its version set's details (the versioningScheme) only
    when asked with expandApiVersionSet=true, else the apiVersionSetId alone."""
    properties = dict(api["properties"])
    if not expand_version_set:
        properties.pop("apiVersionSet", None)
    return {"id": api["id"], "name": api["name"], "properties": properties}
