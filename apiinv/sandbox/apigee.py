"""Apigee X / hybrid management API (v1): organization, proxies and revisions, deployments,
environment groups with attachments, API products paged by startKey, and Google's token endpoint."""

from __future__ import annotations

import base64
import bisect
import json
import uuid
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import EstateApp, epoch_ms
from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import APIGEE_HOSTS, Api, EstateDay, Operation
from apiinv.sandbox.server import Request, Response, error_response, json_response
from apiinv.sandbox.tokens import ServiceAccounts, TokenRegistry, bearer

AUTH_POLICIES = {
    "apikey": "VerifyAPIKey-1",
    "oauth2": "OAuthV2-VerifyAccessToken",
    "jwt": "VerifyJWT-1",
    "basic": "BasicAuthentication-Decode",
}


class ApigeeApp(EstateApp):
    name = "apigee"

    def __init__(
        self,
        estate,
        *,
        organization: str,
        operator_token: str | None = None,
        token_lifetime: float = 3600,
        **kwargs,
    ) -> None:
        super().__init__(estate, **kwargs)
        self.organization = organization
        self.operator_token = operator_token
        self.tokens = TokenRegistry(lifetime=token_lifetime)
        self.accounts = ServiceAccounts()
        self.add_routes()

    def add_routes(self) -> None:
        self.route("POST", "/token", self.accounts.token_handler(self.tokens))
        org = "/v1/organizations/{org}"
        self.route("GET", org, self.get_organization)
        self.route("GET", org + "/apis", self.list_proxies)
        self.route("GET", org + "/apis/{api}/revisions/{rev}", self.get_revision)
        self.route("GET", org + "/deployments", self.list_deployments)
        self.route("GET", org + "/environments/{env}/deployments", self.list_deployments)
        self.route("GET", org + "/envgroups", self.list_envgroups)
        self.route("GET", org + "/envgroups/{group}/attachments", self.list_attachments)
        self.route("GET", org + "/apiproducts", self.list_products)

    def authenticate(self, request: Request) -> Response | None:
        token = bearer(request)
        if self.tokens.valid(token) or (self.operator_token and token == self.operator_token):
            return None
        return error_response(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access "
            "token, login cookie or other valid authentication credential.",
            status="UNAUTHENTICATED",
        )

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def _org_or_404(self, request: Request) -> Response | None:
        if request.params["org"] != self.organization:
            return error_response(
                403,
                f"Permission denied on resource organization {request.params['org']} (or it may not exist).",
                status="PERMISSION_DENIED",
            )
        return None

    # ---------------------------------------------------------------------------------------- model

    def _build(self, day: EstateDay) -> dict[str, Any]:
        proxies: dict[str, tuple[Api, tuple[Operation, ...]]] = {}
        for api, ops in day.in_gateway("apigee"):
            proxies[api.name] = (api, ops)
        # Built once per date: a listing of many pages would otherwise build every product per page.
        products = self._products(proxies)
        return {"proxies": proxies, "products": products, "product_names": [p["name"] for p in products]}

    def _proxies(self) -> dict[str, tuple[Api, tuple[Operation, ...]]]:
        return self.view(self._build)["proxies"]

    def _revisions(self, api: Api) -> list[str]:
        return [str(r) for r in api.revisions(self.date.toordinal())]

    def _deployed_revision(self, api: Api) -> str:
        revisions = self._revisions(api)
        older = len(revisions) > 2 and api.index % 5 == 0 and api.auth_flip_phase is None
        return revisions[-2] if older else revisions[-1]

    # ---------------------------------------------------------------------------------------- routes

    def get_organization(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        return json_response(
            {
                "name": self.organization,
                "displayName": self.organization,
                "projectId": self.organization,
                "environments": sorted(APIGEE_HOSTS),
                "runtimeType": "CLOUD",
                "subscriptionType": "PAID",
                "createdAt": epoch_ms(self.moment(900)),
                "lastModifiedAt": epoch_ms(self.moment(30)),
                "state": "ACTIVE",
            }
        )

    def list_proxies(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        proxies = []
        for name, (api, _ops) in sorted(self._proxies().items()):
            revisions = self._revisions(api)
            entry: dict[str, Any] = {"name": name}
            if request.query.get("includeRevisions") == "true":
                entry["revision"] = revisions
            entry["latestRevisionId"] = revisions[-1]
            if request.query.get("includeMetaData") == "true":
                entry["metaData"] = {
                    "createdAt": epoch_ms(self.moment(400 + api.index % 300)),
                    "lastModifiedAt": epoch_ms(self.moment(api.index % 60)),
                    "subType": "Proxy",
                }
            proxies.append(entry)
        return json_response({"proxies": proxies})

    def get_revision(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        found = self._proxies().get(request.params["api"])
        if found is None or request.params["rev"] not in self._revisions(found[0]):
            return error_response(
                404, f"API proxy revision {request.params['rev']} not found", status="NOT_FOUND"
            )
        api, _ops = found
        # A revision never changes: everything in it follows from the revision, nothing from the date.
        revision = int(request.params["rev"])
        created = epoch_ms(self.on_day(api.revision_created(revision)))
        policies = ["AssignMessage-CORS", "SpikeArrest-1" if api.index % 3 else "Quota-1"]
        auth = api.revision_auth(revision)
        if auth:
            policies.insert(0, AUTH_POLICIES[auth])
        return json_response(
            {
                "name": api.name,
                "revision": request.params["rev"],
                "displayName": api.title,
                "description": api.description,
                "basepaths": [api.base_path],
                "proxyEndpoints": ["default"],
                "targetEndpoints": ["default"],
                "targetServers": [],
                "policies": policies,
                "resources": [],
                "createdAt": created,
                "lastModifiedAt": created,
                "configurationVersion": {"majorVersion": 4},
                "type": "Application",
                "entityMetaDataAsProperties": {
                    "bundle_type": "zip",
                    "subType": "Proxy",
                    "lastModifiedAt": created,
                },
            }
        )

    def list_deployments(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        wanted = request.params.get("env")
        deployments = []
        for name, (api, _ops) in sorted(self._proxies().items()):
            if not api.deployed:
                continue
            for env in api.environments:
                if wanted and env != wanted:
                    continue
                deployments.append(
                    {
                        "environment": env,
                        "apiProxy": name,
                        "revision": self._deployed_revision(api),
                        "deployStartTime": epoch_ms(self.moment(api.index % 45, hour=3)),
                    }
                )
        return json_response({"deployments": deployments})

    def _groups(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{env}-group",
                "hostnames": [host],
                "state": "ACTIVE",
                "createdAt": epoch_ms(self.moment(800)),
                "lastModifiedAt": epoch_ms(self.moment(90)),
            }
            for env, host in sorted(APIGEE_HOSTS.items())
        ]

    def list_envgroups(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        groups = self._groups()
        size = request.int_arg("pageSize", 1000) or 1000
        start = int(request.query.get("pageToken") or 0)
        following = start + size
        return json_response(
            {
                "environmentGroups": groups[start:following],
                "nextPageToken": str(following) if following < len(groups) else "",
            }
        )

    def list_attachments(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        group = request.params["group"]
        env = group.removesuffix("-group")
        if env not in APIGEE_HOSTS:
            return error_response(404, f"environment group {group} not found", status="NOT_FOUND")
        return json_response(
            {
                "environmentGroupAttachments": [
                    {
                        "name": str(uuid.uuid5(uuid.NAMESPACE_DNS, group)),
                        "environment": env,
                        "createdAt": epoch_ms(self.moment(700)),
                    }
                ],
                "nextPageToken": "",
            }
        )

    def _products(self, proxies: dict[str, tuple[Api, tuple[Operation, ...]]]) -> list[dict[str, Any]]:
        products = []
        for name, (api, ops) in sorted(proxies.items()):
            if api.index % 6 == 5:
                continue  # a proxy in no product: only its base path is known
            products.append(
                {
                    "name": f"{name}-product",
                    "displayName": api.title,
                    "description": api.description[:200],
                    "approvalType": "auto" if api.index % 2 else "manual",
                    "attributes": [{"name": "access", "value": "public" if api.index % 4 else "internal"}],
                    "environments": list(api.environments),
                    "proxies": [name],
                    "quota": "1000",
                    "quotaInterval": "1",
                    "quotaTimeUnit": "minute",
                    "createdAt": epoch_ms(self.moment(300)),
                    "lastModifiedAt": epoch_ms(self.moment(api.index % 90)),
                    "operationGroup": {
                        "operationConfigs": [
                            {
                                "apiSource": name,
                                "operations": [
                                    {"resource": op.template, "methods": [op.method]} for op in ops
                                ],
                                "quota": {},
                            }
                        ],
                        "operationConfigType": "proxy",
                    },
                }
            )
        return products

    def list_products(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        view = self.view(self._build)
        products = view["products"]
        count = min(1000, request.int_arg("count", 1000) or 1000)
        start = 0
        if "startKey" in request.query:
            # Real Apigee starts at the key itself, so the last item of a page comes back first.
            start = bisect.bisect_left(view["product_names"], request.query["startKey"])
        page = products[start : start + count]
        if request.query.get("expand") != "true":
            return json_response({"apiProduct": [{"name": p["name"]} for p in page]})
        return json_response({"apiProduct": page})


class ApigeeEdgeApp(ApigeeApp):
    """Legacy Apigee Edge (api.enterprise.apigee.com): Basic auth, /apis as a plain list of names paged by
    count and startKey, deployments per proxy, virtual hosts instead of environment groups, products
    with apiResources instead of operation groups, epoch milliseconds as integers."""

    name = "apigee-edge"

    def __init__(self, estate, *, organization: str, username: str, password: str, **kwargs) -> None:
        self.expected_basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        super().__init__(estate, organization=organization, **kwargs)

    def add_routes(self) -> None:
        org = "/v1/organizations/{org}"
        self.route("GET", org, self.get_organization)
        self.route("GET", org + "/apis", self.list_proxy_names)
        self.route("GET", org + "/apis/{api}", self.get_proxy)
        self.route("GET", org + "/apis/{api}/deployments", self.proxy_deployments)
        self.route("GET", org + "/apis/{api}/revisions/{rev}", self.get_revision)
        self.route("GET", org + "/environments", self.list_environments)
        self.route("GET", org + "/environments/{env}/virtualhosts", self.list_virtual_hosts)
        self.route("GET", org + "/environments/{env}/virtualhosts/{vhost}", self.get_virtual_host)
        self.route("GET", org + "/apiproducts", self.list_edge_products)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("authorization") == self.expected_basic:
            return None
        return json_response(
            {"code": "keymanagement.service.InvalidCredentials", "message": "Unauthorized"}, 401
        )

    @staticmethod
    def _ms(text: str) -> int:
        return int(text)

    def get_organization(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        return denied or json_response(
            {
                "name": self.organization,
                "type": "paid",
                "environments": sorted(APIGEE_HOSTS),
                "createdAt": self._ms(epoch_ms(self.moment(2000))),
            }
        )

    def list_proxy_names(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        names = sorted(self._proxies())
        start = bisect.bisect_left(names, request.query["startKey"]) if "startKey" in request.query else 0
        return json_response(names[start : start + (request.int_arg("count", 1000) or 1000)])

    def get_proxy(self, request: Request) -> Response:
        found = self._proxies().get(request.params["api"])
        if found is None or self._org_or_404(request):
            return json_response(
                {
                    "code": "messaging.config.beans.ApplicationDoesNotExist",
                    "message": f"APIProxy named {request.params['api']} does not exist",
                },
                404,
            )
        api = found[0]
        return json_response(
            {
                "name": api.name,
                "revision": self._revisions(api),
                "metaData": {
                    "createdAt": self._ms(epoch_ms(self.moment(400 + api.index % 300))),
                    "createdBy": "ops@acme.example",
                    "lastModifiedAt": self._ms(epoch_ms(self.moment(api.index % 60))),
                    "lastModifiedBy": "ops@acme.example",
                },
            }
        )

    def proxy_deployments(self, request: Request) -> Response:
        found = self._proxies().get(request.params["api"])
        if found is None or self._org_or_404(request):
            return json_response(
                {"code": "messaging.config.beans.ApplicationDoesNotExist", "message": "no proxy"}, 404
            )
        api = found[0]
        environments = [
            {"name": env, "revision": [{"name": self._deployed_revision(api), "state": "deployed"}]}
            for env in (api.environments if api.deployed else ())
        ]
        return json_response(
            {"name": api.name, "organization": self.organization, "environment": environments}
        )

    def get_revision(self, request: Request) -> Response:
        response = super().get_revision(request)
        if response.status != 200:
            return response
        document = json.loads(response.body)
        for key in ("createdAt", "lastModifiedAt"):
            document[key] = int(document[key])
        return json_response(document)

    def list_environments(self, request: Request) -> Response:
        return self._org_or_404(request) or json_response(sorted(APIGEE_HOSTS))

    def list_virtual_hosts(self, request: Request) -> Response:
        if request.params["env"] not in APIGEE_HOSTS:
            return json_response({"code": "environment.NotFound", "message": "no such environment"}, 404)
        return json_response(["default", "secure"])

    def get_virtual_host(self, request: Request) -> Response:
        env, vhost = request.params["env"], request.params["vhost"]
        if env not in APIGEE_HOSTS or vhost not in ("default", "secure"):
            return json_response({"code": "virtualhost.NotFound", "message": "no such virtual host"}, 404)
        return json_response(
            {
                "name": vhost,
                "hostAliases": [APIGEE_HOSTS[env]] if vhost == "secure" else [],
                "port": "443" if vhost == "secure" else "80",
                "interfaces": [],
            }
        )

    def list_edge_products(self, request: Request) -> Response:
        denied = self._org_or_404(request)
        if denied:
            return denied
        view = self.view(self._build)
        count = min(1000, request.int_arg("count", 1000) or 1000)
        start = 0
        if "startKey" in request.query:
            start = bisect.bisect_left(view["product_names"], request.query["startKey"])
        products = []
        for product in view["products"][start : start + count]:
            edge = {k: v for k, v in product.items() if k != "operationGroup"}
            edge["apiResources"] = ["/**"]
            for key in ("createdAt", "lastModifiedAt"):
                edge[key] = int(edge[key])
            products.append(edge)
        return json_response({"apiProduct": products})


ORGANIZATION = "acme-sandbox"
KEY_FILE = "apigee-service-account.json"


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        app = ApigeeApp(
            sandbox.estate,
            organization=ORGANIZATION,
            operator_token=sandbox.operator_token,
            token_lifetime=max(sandbox.token_lifetime, 60),
            rate_limit=sandbox.rate_limits.get("apigee"),
            day=sandbox.day,
            latency=sandbox.latency,
        )
        super().__init__(sandbox, app)
        self.key_file: Path | None = None

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        assert isinstance(self.app, ApigeeApp)
        self.key_file = self.app.accounts.write_key_file((folder / KEY_FILE).resolve(), url + "/token")
        return {"api_base_url": url, "auth_type": "service_account", "organization": ORGANIZATION}

    def env(self, folder: Path) -> dict[str, str]:
        return {"APIINV_APIGEE_KEY_FILE": str((folder / KEY_FILE).resolve())}

    def secrets(self) -> list[str]:
        assert isinstance(self.app, ApigeeApp)
        found = [self.sandbox.operator_token, *self.app.tokens.handed_out]
        if self.key_file is not None:  # a line of the service account's private key
            found.append(json.loads(self.key_file.read_text())["private_key"].splitlines()[1])
        return found

    def truth(self) -> dict[str, int]:
        in_gateway = self.sandbox.estate.on(self.sandbox.day).in_gateway("apigee")
        return {
            "proxies": len(in_gateway),
            # One revision a proxy: the one deployed (in every environment), or an undeployed one's latest.
            "revisions": len(in_gateway),
            "deployments": sum(len(a.environments) for a, _ in in_gateway if a.deployed),
            "products": sum(1 for a, _ in in_gateway if a.index % 6 != 5),
        }
