"""Kong Gateway Admin API: services, routes and plugins, optionally per workspace (Enterprise)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apiinv.inventory.records import as_dict, as_list, as_text, make_record
from apiinv.redact import MASK
from apiinv.sources.base import Source
from apiinv.timefmt import from_epoch_s

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext

ENTITIES = ("services", "routes", "plugins")


def check(client: HttpClient, tool: ToolConfig) -> str:
    document = client.get_json("/")
    return f"Kong {document.get('version', '?')}"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    workspaces = ctx.tool.settings.get("workspaces") or [None]
    jobs = [(workspace, entity) for workspace in workspaces for entity in ENTITIES]

    def listing(job: tuple[str | None, str]) -> list[Any]:
        workspace, entity = job
        prefix = f"/{workspace}" if workspace else ""
        return ctx.client.paginate_all(
            f"{prefix}/{entity}",
            strategy="next_link",
            items_key="data",
            page_size=min(1000, max(1, ctx.tool.page_size)),
        )

    lists = ctx.map(listing, jobs)
    result: dict[str, dict[str, list[Any]]] = {}
    for (workspace, entity), items in zip(jobs, lists, strict=True):
        result.setdefault(workspace or "default", {})[entity] = items
    return {"workspaces": result}


_SECRET_KEY = re.compile(r"secret|password|passwd|key|token|credential", re.IGNORECASE)


def scrub(raw: dict[str, Any]) -> dict[str, Any]:
    """Plugin settings hold other systems' secrets (OIDC client secrets, upstream keys, Redis passwords):
    every value under a secret-looking key is replaced by *** before the raw file is written."""
    for lists in as_dict(raw.get("workspaces")).values():
        for plugin in as_list(as_dict(lists).get("plugins")):
            if isinstance(plugin, dict) and "config" in plugin:
                plugin["config"] = _mask_secrets(plugin["config"])
    return raw


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: MASK
            if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "", [], {})
            else _mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


def counts(raw: dict[str, Any]) -> dict[str, int]:
    totals = dict.fromkeys(ENTITIES, 0)
    for lists in (raw.get("workspaces") or {}).values():
        for entity in ENTITIES:
            totals[entity] += len(lists.get(entity) or [])
    return totals


# ---------------------------------------------------------------------------------------------- normalize

AUTH_PLUGINS = {
    "key-auth": "api_key",
    "key-auth-enc": "api_key",
    "jwt": "jwt",
    "oauth2": "oauth2",
    "basic-auth": "basic",
    "hmac-auth": "hmac",
    "openid-connect": "oidc",
    "mtls-auth": "mtls",
    "ldap-auth": "ldap",
    "ldap-auth-advanced": "ldap",
}
RATE_PLUGINS = frozenset({"rate-limiting", "rate-limiting-advanced"})


def _ref(value: Any) -> str | None:
    return as_text(value.get("id")) if isinstance(value, dict) else None


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    instance, collected = raw["tool"], raw.get("collected_at")
    for workspace, lists in as_dict(as_dict(raw["data"]).get("workspaces")).items():
        lists = as_dict(lists)
        services = {_ref(s): s for s in map(as_dict, as_list(lists.get("services")))}
        scoped: dict[tuple[str | None, str | None], list[str]] = {}
        for plugin in map(as_dict, as_list(lists.get("plugins"))):
            if (
                plugin.get("enabled") is False
                or _ref(plugin.get("consumer"))
                or not isinstance(plugin.get("name"), str)
            ):
                continue
            scoped.setdefault((_ref(plugin.get("service")), _ref(plugin.get("route"))), []).append(
                plugin["name"]
            )
        for route in map(as_dict, as_list(lists.get("routes"))):
            service_id = _ref(route.get("service"))
            service = services.get(service_id) or {}
            # A route's effective plugins: global, its service's, its own.
            names = (
                scoped.get((None, None), [])
                + scoped.get((service_id, None), [])
                + scoped.get((None, _ref(route)), [])
            )
            auth = sorted({AUTH_PLUGINS[n] for n in names if n in AUTH_PLUGINS})
            tags = sorted(
                {
                    t
                    for t in [*as_list(route.get("tags")), *as_list(service.get("tags"))]
                    if isinstance(t, str)
                }
            )
            if RATE_PLUGINS & set(names):
                tags.append("rate_limited")
            protocols = as_list(route.get("protocols")) or ["https"]
            common: dict[str, Any] = {
                "tool": "kong",
                "instance": instance,
                "collected_at": collected,
                "api_id": service_id or _ref(route),
                "api_name": as_text(service.get("name")) or as_text(route.get("name")),
                "environment": workspace,
                "status": "undeployed" if service.get("enabled") is False else "deployed",
                "auth_required": bool(auth),
                "auth_types": auth,
                "tags": tags,
                "scheme": "https" if "https" in protocols else "http",
                "last_modified": from_epoch_s(route.get("updated_at") or route.get("created_at")),
                "first_seen": from_epoch_s(route.get("created_at")),
            }
            for host in as_list(route.get("hosts")) or [""]:
                for path in as_list(route.get("paths")) or ["/"]:
                    regex = isinstance(path, str) and path.startswith("~")
                    for method in as_list(route.get("methods")) or ["*"]:
                        yield make_record(
                            **common,
                            host=host,
                            base_path="",
                            method=method,
                            path=path,
                            # Kong 3 router: plain paths are prefixes; a regex path matches from the
                            # start (a prefix too, unless it ends in $); strip_path changes only what
                            # the upstream sees, not what the gateway serves.
                            path_match="regex" if regex else "prefix",
                        )


SOURCE = Source(
    name="kong",
    role="gateway",
    defaults={"auth_type": "none", "api_key_header": "Kong-Admin-Token", "page_size": 1000},
    raw_shape={"workspaces": dict},
    settings_schema={
        "workspaces": {
            "description": "Kong workspaces (Enterprise); default: the default workspace.",
            "type": "array",
            "items": {"type": "string"},
        },
    },
    check=check,
    fetch=fetch,
    counts=counts,
    normalize=normalize,
    scrub=scrub,
    private_paths=(r"(^|/)plugins$",),  # plugin settings: other systems' secrets, never cached
    simulator="apiinv.sandbox.kong",
)
