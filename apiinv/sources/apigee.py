"""Apigee X / hybrid: proxies, deployments, deployed revisions, environment groups, API products.

Crawl: the organization (its environments) -> proxies with revisions and metadata -> deployments ->
each deployed revision (base paths, policies, target servers; the latest revision of an undeployed
proxy) -> environment groups with hostnames and attachments -> API products with operation groups.
Legacy Edge is not crawled: its paths differ and no customer of ours runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apiinv.errors import ConfigurationError

if TYPE_CHECKING:
    from apiinv.collect import FetchContext
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "service_account", "rate_limit": 6000, "page_size": 1000, "flavor": "x"}
REQUIRED_SETTINGS = ("organization",)


def check(client: HttpClient, tool: ToolConfig) -> str:
    org = tool.settings["organization"]
    document = client.get_json(f"/v1/organizations/{org}")
    return f"organization {org}: {len(document.get('environments') or [])} environments"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    settings = ctx.tool.settings
    if settings.get("flavor") == "edge":
        raise ConfigurationError(
            "Apigee Edge (flavor: edge) is not supported yet; use x or hybrid", tool=ctx.tool.name
        )
    org_path = f"/v1/organizations/{settings['organization']}"
    client = ctx.client
    organization = client.get_json(org_path)
    wanted_envs = set(settings.get("environments") or organization.get("environments") or [])

    proxies = client.get_json(
        f"{org_path}/apis", params={"includeRevisions": "true", "includeMetaData": "true"}
    )
    proxies = proxies.get("proxies") or []
    deployments = [
        d
        for d in (client.get_json(f"{org_path}/deployments").get("deployments") or [])
        if not wanted_envs or d.get("environment") in wanted_envs
    ]

    wanted_revisions = {(d["apiProxy"], str(d["revision"])) for d in deployments}
    deployed_proxies = {name for name, _ in wanted_revisions}
    for proxy in proxies:
        if proxy["name"] not in deployed_proxies and proxy.get("latestRevisionId"):
            wanted_revisions.add((proxy["name"], str(proxy["latestRevisionId"])))

    def revision(key: tuple[str, str]) -> dict[str, Any] | None:
        name, rev = key
        return ctx.get_json_or_none(f"{org_path}/apis/{name}/revisions/{rev}")

    revisions = [r for r in ctx.map(revision, sorted(wanted_revisions)) if r is not None]

    groups = client.paginate_all(f"{org_path}/envgroups", strategy="token", items_key="environmentGroups")

    def attachments(group: dict[str, Any]) -> dict[str, Any]:
        attached = client.paginate_all(
            f"{org_path}/envgroups/{group['name']}/attachments",
            strategy="token",
            items_key="environmentGroupAttachments",
        )
        return {**group, "attachments": attached}

    groups = ctx.map(attachments, groups)
    products = client.paginate_all(
        f"{org_path}/apiproducts", strategy="start_key", items_key="apiProduct", params={"expand": "true"}
    )
    return {
        "organization": organization,
        "environments": sorted(wanted_envs),
        "proxies": proxies,
        "deployments": deployments,
        "revisions": revisions,
        "envgroups": groups,
        "products": products,
    }


def counts(raw: dict[str, Any]) -> dict[str, int]:
    return {
        key: len(raw.get(key) or [])
        for key in ("proxies", "deployments", "revisions", "envgroups", "products")
    }
