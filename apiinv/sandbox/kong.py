"""Kong Gateway Admin API: services, routes and plugins with size/offset pages and next links,
optional workspaces and an optional Kong-Admin-Token (Enterprise RBAC)."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import EstateApp, epoch_s
from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import Api, EstateDay, Operation
from apiinv.sandbox.server import Request, Response, json_response

AUTH_PLUGINS = {"apikey": "key-auth", "oauth2": "oauth2", "jwt": "jwt", "basic": "basic-auth"}
REDIS_PASSWORD = "sandbox-redis-password-4a1f"  # noqa: S105 (a third party secret in a plugin config)
KONG_VERSION = "3.9.1"


def _id(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(map(str, parts))))


def route_path(api: Api, op: Operation) -> str:
    """Kong route paths: a plain prefix, or a regex (~) with a named group per path parameter, anchored
    with $ (exactly this path) except on every fourth API (a prefix from the start, as Kong allows).
    Shapes Kong accepts that apiinv must read as Kong does: on every tenth API from the sixth, a plain
    path cut at the first parameter, trailing slash kept (/orders/ serves /orders/42, never /orders);
    on every tenth from the tenth, an inline flag after the base path (Rust regex: (?i) from there on)."""
    path = api.base_path + op.template
    if not op.params:
        return path
    if api.index % 10 == 5:
        return path[: path.index("{")]
    for param in op.params:
        path = path.replace("{" + param + "}", f"(?<{param}>[^/]+)")
    if api.index % 10 == 9:
        path = api.base_path + "/(?i)" + path[len(api.base_path) + 1 :]
    return "~" + path + ("" if api.index % 4 == 1 else "$")


class KongApp(EstateApp):
    name = "kong"

    def __init__(
        self, estate, *, admin_token: str | None = None, workspaces: tuple[str, ...] = ("default",), **kwargs
    ) -> None:
        super().__init__(estate, **kwargs)
        self.admin_token = admin_token
        self.workspaces = workspaces
        self.route("GET", "/", self.root)
        for entity in ("services", "routes", "plugins"):
            self.route("GET", f"/{entity}", self._lister(entity))
            self.route("GET", f"/{{workspace}}/{entity}", self._lister(entity))

    def authenticate(self, request: Request) -> Response | None:
        if self.admin_token is None or request.header("kong-admin-token") == self.admin_token:
            return None
        return json_response({"message": "Invalid credentials. Token or User credentials required"}, 401)

    def _build(self, day: EstateDay) -> dict[str, list[dict[str, Any]]]:
        services, routes, plugins = [], [], []
        plugins.append(
            {
                "id": _id("global-rl"),
                "name": "rate-limiting",
                "enabled": True,
                "service": None,
                "route": None,
                "consumer": None,
                "protocols": ["http", "https"],
                "tags": None,
                # Plugin settings carry other systems' secrets, as real ones do: apiinv must mask them.
                "config": {
                    "minute": 600,
                    "policy": "redis",
                    "redis": {"host": "redis.internal", "port": 6379, "password": REDIS_PASSWORD},
                },
                "created_at": epoch_s(self.moment(500)),
            }
        )
        for api, ops in day.in_gateway("kong"):
            service_id = api.kong_ids[0]
            services.append(
                {
                    "id": service_id,
                    "name": api.name,
                    "protocol": "https",
                    "host": f"{api.name}.svc.cluster.local",
                    "port": 8443,
                    "path": "/",
                    "enabled": True,
                    "retries": 5,
                    "connect_timeout": 60000,
                    "read_timeout": 60000,
                    "write_timeout": 60000,
                    "tags": [api.team.lower().replace(" ", "-")],
                    "created_at": epoch_s(self.moment(400)),
                    "updated_at": epoch_s(self.moment(api.index % 50)),
                }
            )
            auth = api.auth_on(day.day)
            catch_all = api.index % 10 == 3
            service_level_auth = auth and (catch_all or not any(op.public for op in ops))
            if auth and service_level_auth:
                plugins.append(self._plugin(AUTH_PLUGINS[auth], api, service_id=service_id))
            if catch_all:  # hosts only: every method and path on the API's own hostname
                route_id = _id(api.id, "catch-all")
                routes.append(self._route_document(route_id, f"{api.name}-all", None, None, service_id, api))
                continue
            for number, op in enumerate(ops, 1):
                route_id = _id(api.id, op.method, op.template)
                routes.append(
                    self._route_document(
                        route_id,
                        f"{api.name}-{op.method.lower()}-{number}",
                        [op.method],
                        [route_path(api, op)],
                        service_id,
                        api,
                    )
                )
                if auth and not service_level_auth and not op.public:
                    plugins.append(self._plugin(AUTH_PLUGINS[auth], api, route_id=route_id))
        return {"services": services, "routes": routes, "plugins": plugins}

    def _route_document(
        self, route_id: str, name: str, methods, paths, service_id: str, api: Api
    ) -> dict[str, Any]:
        return {
            "id": route_id,
            "name": name,
            "protocols": ["https"],
            "methods": methods,
            "hosts": [api.host],
            "paths": paths,
            "service": {"id": service_id},
            "strip_path": False,
            "preserve_host": True,
            "regex_priority": 0,
            "path_handling": "v0",
            "https_redirect_status_code": 426,
            "tags": [api.team.lower().replace(" ", "-")],
            "created_at": epoch_s(self.moment(300)),
            "updated_at": epoch_s(self.moment(api.index % 40)),
        }

    def _plugin(self, name: str, api: Api, *, service_id: str | None = None, route_id: str | None = None):
        return {
            "id": _id(name, service_id, route_id),
            "name": name,
            "enabled": True,
            "consumer": None,
            "service": {"id": service_id} if service_id else None,
            "route": {"id": route_id} if route_id else None,
            "protocols": ["https"],
            "tags": None,
            "config": {"hide_credentials": True},
            "created_at": epoch_s(self.moment(200)),
        }

    def root(self, request: Request) -> Response:
        return json_response(
            {
                "version": KONG_VERSION,
                "edition": "enterprise" if self.admin_token else "community",
                "tagline": "Welcome to kong",
                "hostname": "kong-admin",
                "lua_version": "LuaJIT 2.1.0",
            }
        )

    def _lister(self, entity: str):
        def handle(request: Request) -> Response:
            workspace = request.params.get("workspace")
            if workspace is not None and workspace not in self.workspaces:
                return json_response({"message": f"Workspace '{workspace}' not found"}, 404)
            items = self.view(self._build)[entity]
            if workspace not in (None, "default"):
                items = []
            size = request.int_arg("size", 100)
            if not 1 <= size <= 1000:
                return json_response(
                    {
                        "message": "size must be an integer between 1 and 1000",
                        "name": "invalid size",
                        "code": 9,
                    },
                    400,
                )
            start = 0
            if request.query.get("offset"):
                try:
                    start = int(base64.urlsafe_b64decode(request.query["offset"]).decode())
                except ValueError:
                    return json_response(
                        {"message": "invalid offset", "name": "invalid offset", "code": 10}, 400
                    )
            following = start + size
            document: dict[str, Any] = {"data": items[start:following], "next": None}
            if following < len(items):
                token = base64.urlsafe_b64encode(str(following).encode()).decode()
                prefix = f"/{workspace}" if workspace else ""
                document["offset"] = token
                document["next"] = f"{prefix}/{entity}?offset={token}"
            return json_response(document)

        return handle


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        app = KongApp(
            sandbox.estate,
            admin_token=sandbox.kong_token,
            rate_limit=sandbox.rate_limits.get("kong"),
            day=sandbox.day,
            latency=sandbox.latency,
        )
        super().__init__(sandbox, app)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        return {"api_base_url": url, "auth_type": "api_key" if self.sandbox.kong_token else "none"}

    def env(self, folder: Path) -> dict[str, str]:
        return {"APIINV_KONG_API_KEY": self.sandbox.kong_token} if self.sandbox.kong_token else {}

    def secrets(self) -> list[str]:
        # The plugins' third-party secret too: masked in the raw file, never kept by the HTTP cache.
        return [REDIS_PASSWORD, *([self.sandbox.kong_token] if self.sandbox.kong_token else [])]

    def truth(self) -> dict[str, int]:
        assert isinstance(self.app, KongApp)
        return {k: len(v) for k, v in self.app.view(self.app._build).items()}
