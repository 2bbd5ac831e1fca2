"""Apigee X / hybrid: proxies, deployments, deployed revisions, environment groups, API products.

Crawl: the organization (its environments) -> proxies with revisions and metadata -> deployments ->
each deployed revision (base paths, policies, target servers; the latest revision of an undeployed
proxy) -> environment groups with hostnames and attachments -> API products with operation groups.
Legacy Edge is not crawled: its paths differ and no customer of ours runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apiinv.errors import ConfigurationError
from apiinv.records import make_record
from apiinv.timefmt import from_epoch_ms

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


# ---------------------------------------------------------------------------------------------- normalize

AUTH_POLICIES = (
    ("verifyapikey", "api_key"),
    ("oauthv2", "oauth2"),
    ("verifyjwt", "jwt"),
    ("basicauthentication", "basic"),
    ("verifysaml", "saml"),
    ("hmac", "hmac"),
)
RATE_POLICIES = ("spikearrest", "quota")


def policy_auth(policies: list[Any]) -> list[str]:
    names = [str(p.get("name", p) if isinstance(p, dict) else p).lower() for p in policies or []]
    return sorted(
        {kind for name in names for marker, kind in AUTH_POLICIES if marker in name.replace("-", "")}
    )


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    data, instance, collected = raw["data"], raw["tool"], raw.get("collected_at")
    env_hosts: dict[str, list[str]] = {}
    for group in data.get("envgroups") or []:
        for attachment in group.get("attachments") or []:
            env_hosts.setdefault(attachment.get("environment"), []).extend(group.get("hostnames") or [])
    revisions = {(r.get("name"), str(r.get("revision"))): r for r in data.get("revisions") or []}
    deployments: dict[str, list[tuple[str, str]]] = {}
    for d in data.get("deployments") or []:
        deployments.setdefault(d.get("apiProxy"), []).append((d.get("environment"), str(d.get("revision"))))
    operations: dict[str, dict[tuple[str, str], set[str]]] = {}
    products_of: dict[str, set[str]] = {}
    for product in data.get("products") or []:
        for proxy in product.get("proxies") or []:
            products_of.setdefault(proxy, set()).add(product["name"])
        for config in (product.get("operationGroup") or {}).get("operationConfigs") or []:
            source = config.get("apiSource")
            products_of.setdefault(source, set()).add(product["name"])
            for op in config.get("operations") or []:
                for method in op.get("methods") or ["*"]:
                    operations.setdefault(source, {}).setdefault(
                        (method.upper(), op.get("resource") or "/"), set()
                    ).add(product["name"])
    for proxy in data.get("proxies") or []:
        name = proxy.get("name")
        meta = proxy.get("metaData") or {}
        targets = [(env, rev, "deployed") for env, rev in deployments.get(name, [])]
        if not targets:
            targets = [
                (
                    None,
                    str(proxy.get("latestRevisionId") or (proxy.get("revision") or [""])[-1]),
                    "undeployed",
                )
            ]
        for env, rev, status in targets:
            revision = revisions.get((name, rev)) or {}
            auth = policy_auth(revision.get("policies") or [])
            policies = " ".join(str(p).lower() for p in revision.get("policies") or [])
            tags = ["rate_limited"] if any(marker in policies for marker in RATE_POLICIES) else []
            common: dict[str, Any] = {
                "tool": "apigee",
                "instance": instance,
                "collected_at": collected,
                "api_id": name,
                "api_name": revision.get("displayName") or name,
                "environment": env,
                "status": status,
                "auth_required": bool(auth),
                "auth_types": auth,
                "tags": tags,
                "last_modified": from_epoch_ms(revision.get("lastModifiedAt") or meta.get("lastModifiedAt")),
                "first_seen": from_epoch_ms(meta.get("createdAt")),
            }
            hosts = sorted(set(env_hosts.get(env) or [])) or [""]
            ops = operations.get(name) or {}
            for host in hosts:
                for base_path in revision.get("basepaths") or ["/"]:
                    if not ops:
                        yield make_record(
                            **common,
                            host=host,
                            base_path=base_path,
                            method="*",
                            path="",
                            path_match="prefix",
                            products=sorted(products_of.get(name, ())),
                        )
                    for (method, resource), products in sorted(ops.items()):
                        wildcard = resource.endswith("**")
                        yield make_record(
                            **common,
                            host=host,
                            base_path=base_path,
                            method=method,
                            path=resource.rstrip("*") if wildcard else resource,
                            path_match="prefix" if wildcard else "exact",
                            products=sorted(products),
                        )
