"""Kong Gateway Admin API: services, routes and plugins, optionally per workspace (Enterprise)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apiinv.collect import FetchContext
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "none", "api_key_header": "Kong-Admin-Token", "page_size": 1000}
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


def counts(raw: dict[str, Any]) -> dict[str, int]:
    totals = dict.fromkeys(ENTITIES, 0)
    for lists in (raw.get("workspaces") or {}).values():
        for entity in ENTITIES:
            totals[entity] += len(lists.get(entity) or [])
    return totals
