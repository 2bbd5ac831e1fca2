"""Apigee X / hybrid and legacy Edge: proxies, deployments, deployed revisions, hosts, API products.

Crawl: the organization (its environments) -> proxies with revisions and metadata -> deployments ->
each deployed revision (base paths, policies, target servers; the latest revision of an undeployed
proxy) -> environment groups with hostnames and attachments -> API products with operation groups.
Edge (flavor: edge, Basic auth or a bearer token) lists proxies by name, deployments per proxy, and
virtual hosts per environment; its documents are mapped onto the X shape, so one normalize serves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apiinv.inventory.records import as_dict, as_list, as_text, make_record
from apiinv.sources.base import Source, kept_since
from apiinv.timefmt import from_epoch_ms

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext


def check(client: HttpClient, tool: ToolConfig) -> str:
    org = tool.settings["organization"]
    document = client.get_json(f"/v1/organizations/{org}")
    return f"organization {org}: {len(document.get('environments') or [])} environments"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    org_path = f"/v1/organizations/{ctx.tool.settings['organization']}"
    if ctx.tool.settings.get("flavor") == "edge":
        return _fetch_edge(ctx, org_path)
    client = ctx.client
    organization = client.get_json(org_path)
    wanted_envs = set(ctx.tool.settings.get("environments") or organization.get("environments") or [])
    # Google APIs leave an empty list's key out ({} when there are no proxies): absent_ok.
    proxies = client.get_list(
        f"{org_path}/apis",
        "proxies",
        params={"includeRevisions": "true", "includeMetaData": "true"},
        absent_ok=True,
    )
    deployments = [
        d
        for d in client.get_list(f"{org_path}/deployments", "deployments", absent_ok=True)
        if not wanted_envs or d.get("environment") in wanted_envs
    ]
    groups = client.paginate_all(
        f"{org_path}/envgroups", strategy="token", items_key="environmentGroups", absent_ok=True
    )

    def attachments(group: dict[str, Any]) -> dict[str, Any]:
        attached = client.paginate_all(
            f"{org_path}/envgroups/{group['name']}/attachments",
            strategy="token",
            items_key="environmentGroupAttachments",
            absent_ok=True,
        )
        return {**group, "attachments": attached}

    return {
        "flavor": "x",
        "organization": organization,
        "environments": sorted(wanted_envs),
        "proxies": proxies,
        "deployments": deployments,
        "revisions": _revisions(ctx, org_path, proxies, deployments),
        "envgroups": ctx.map(attachments, groups),
        "products": _products(ctx, org_path),
    }


def _revisions(
    ctx: FetchContext, org_path: str, proxies: list[dict[str, Any]], deployments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each deployed revision, and the latest revision of each proxy deployed nowhere."""
    wanted = {(d["apiProxy"], str(d["revision"])) for d in deployments}
    deployed = {name for name, _ in wanted}
    for proxy in proxies:
        if proxy["name"] not in deployed and proxy.get("latestRevisionId"):
            wanted.add((proxy["name"], str(proxy["latestRevisionId"])))

    # A proxy revision is immutable: one fetched before is never fetched again. When a revision cannot
    # be fetched, the proxy's newest revision of the last good collection stands in for it.
    earlier = [r for r in as_list((ctx.fallback or {}).get("revisions")) if isinstance(r, dict)]
    known = {(str(r.get("name")), str(r.get("revision"))): r for r in earlier if not r.get("kept_from")}
    newest: dict[str, dict[str, Any]] = {}
    for r in sorted(earlier, key=lambda r: _revision_number(r.get("revision"))):
        newest[str(r.get("name"))] = r

    def revision(key: tuple[str, str]) -> dict[str, Any] | None:
        name, rev = key
        if key in known and ctx.previous is not None:
            return ctx.reusing(known[key])
        stand_in = newest.get(name)
        kept = (
            {
                **stand_in,
                "revision": rev,
                "kept_revision": stand_in.get("kept_revision") or stand_in.get("revision"),
                "kept_from": kept_since(stand_in, ctx.previous_date),
            }
            if stand_in
            else None
        )
        return ctx.per_item(
            "revision",
            f"{name}/{rev}",
            lambda: ctx.get_json_or_none(f"{org_path}/apis/{name}/revisions/{rev}"),
            kept=kept,
        )

    ordered = ctx.failed_first("revision", sorted(wanted), key=lambda key: "/".join(key))
    return [r for r in ctx.map(revision, ordered) if r is not None]


def _revision_number(value: Any) -> int:
    text = str(value)
    return int(text) if text.isdigit() else -1


def _products(ctx: FetchContext, org_path: str) -> list[dict[str, Any]]:
    return ctx.client.paginate_all(
        f"{org_path}/apiproducts",
        strategy="start_key",
        items_key="apiProduct",
        params={"expand": "true"},
        absent_ok=True,
    )


def _fetch_edge(ctx: FetchContext, org_path: str) -> dict[str, Any]:
    """Legacy Edge, mapped onto the raw shape of X so that one normalize serves both: deployments
    come per proxy, and each environment's virtual host aliases stand in for environment groups."""
    client = ctx.client
    environments = client.get_list(f"{org_path}/environments", None)
    wanted_envs = set(ctx.tool.settings.get("environments") or environments)
    names = client.paginate_all(f"{org_path}/apis", strategy="start_key", items_key=None)

    def proxy(name: str) -> tuple[Any, Any]:
        return (
            ctx.get_json_or_none(f"{org_path}/apis/{name}"),
            ctx.get_json_or_none(f"{org_path}/apis/{name}/deployments") or {},
        )

    proxies, deployments = [], []
    for name, (detail, deployed) in zip(names, ctx.map(proxy, names), strict=True):
        if not isinstance(detail, dict):
            continue
        revisions = [str(r) for r in detail.get("revision") or []]
        proxies.append(
            {
                "name": name,
                "revision": revisions,
                "latestRevisionId": revisions[-1] if revisions else None,
                "metaData": detail.get("metaData") or {},
            }
        )
        for environment in deployed.get("environment") or []:
            if environment.get("name") not in wanted_envs:
                continue
            for revision in environment.get("revision") or []:
                if revision.get("state", "deployed") == "deployed":
                    deployments.append(
                        {
                            "apiProxy": name,
                            "revision": str(revision.get("name")),
                            "environment": environment["name"],
                        }
                    )

    def virtual_hosts(environment: str) -> dict[str, Any]:
        hosts = client.get_list(f"{org_path}/environments/{environment}/virtualhosts", None)
        aliases = {
            alias
            for host in hosts
            for alias in client.get_json(f"{org_path}/environments/{environment}/virtualhosts/{host}").get(
                "hostAliases"
            )
            or []
        }
        return {
            "name": f"{environment} virtual hosts",
            "hostnames": sorted(aliases),
            "attachments": [{"environment": environment}],
        }

    return {
        "flavor": "edge",
        "organization": {"name": ctx.tool.settings["organization"], "environments": environments},
        "environments": sorted(wanted_envs),
        "proxies": proxies,
        "deployments": deployments,
        "revisions": _revisions(ctx, org_path, proxies, deployments),
        "envgroups": ctx.map(virtual_hosts, sorted(wanted_envs)),
        "products": _products(ctx, org_path),
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
    names = [str(p.get("name") if isinstance(p, dict) else p).lower().replace("-", "") for p in policies]
    return sorted({kind for name in names for marker, kind in AUTH_POLICIES if marker in name})


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    data, instance, collected = as_dict(raw["data"]), raw["tool"], raw.get("collected_at")
    env_hosts = _hosts_by_environment(data)
    revisions = _revisions_by_proxy_and_number(data)
    deployments = _deployments_by_proxy(data)
    operations, products_of = _product_operations(data)
    for proxy in map(as_dict, as_list(data.get("proxies"))):
        name = as_text(proxy.get("name"))
        if not name:
            continue
        meta = as_dict(proxy.get("metaData"))
        for env, rev, status in _targets(proxy, deployments.get(name, [])):
            revision = revisions.get((name, rev)) or {}
            policies = as_list(revision.get("policies"))
            auth = policy_auth(policies)
            names = " ".join(str(p).lower() for p in policies)
            common: dict[str, Any] = {
                "tool": "apigee",
                "instance": instance,
                "collected_at": collected,
                "api_id": name,
                "api_name": as_text(revision.get("displayName")) or name,
                "environment": env,
                "status": status,
                "auth_required": bool(auth),
                "auth_types": auth,
                "tags": (["rate_limited"] if any(marker in names for marker in RATE_POLICIES) else [])
                # The revision could not be fetched: what an earlier one of the proxy said stands in.
                + (
                    [f"revision-kept-from:{revision['kept_from']}:{revision.get('kept_revision')}"]
                    if isinstance(revision.get("kept_from"), str)
                    else []
                ),
                "last_modified": from_epoch_ms(revision.get("lastModifiedAt") or meta.get("lastModifiedAt")),
                "first_seen": from_epoch_ms(meta.get("createdAt")),
            }
            hosts = sorted(set(env_hosts.get(env) or [])) or [""]
            base_paths = [b for b in as_list(revision.get("basepaths")) if isinstance(b, str)] or ["/"]
            yield from _route_records(
                common, hosts, base_paths, operations.get(name) or {}, sorted(products_of.get(name, ()))
            )


def _hosts_by_environment(data: dict[str, Any]) -> dict[str | None, list[str]]:
    """Each environment's hostnames, from the environment groups attached to it."""
    env_hosts: dict[str | None, list[str]] = {}
    for group in map(as_dict, as_list(data.get("envgroups"))):
        hostnames = [h for h in as_list(group.get("hostnames")) if isinstance(h, str)]
        for attachment in map(as_dict, as_list(group.get("attachments"))):
            env_hosts.setdefault(as_text(attachment.get("environment")), []).extend(hostnames)
    return env_hosts


def _revisions_by_proxy_and_number(data: dict[str, Any]) -> dict[tuple[str | None, str | None], Any]:
    revisions = {}
    for revision in map(as_dict, as_list(data.get("revisions"))):
        revisions[(as_text(revision.get("name")), as_text(revision.get("revision")))] = revision
    return revisions


def _deployments_by_proxy(data: dict[str, Any]) -> dict[str | None, list[tuple[str | None, str | None]]]:
    """(environment, revision) of each deployment of each proxy."""
    deployments: dict[str | None, list[tuple[str | None, str | None]]] = {}
    for d in map(as_dict, as_list(data.get("deployments"))):
        deployments.setdefault(as_text(d.get("apiProxy")), []).append(
            (as_text(d.get("environment")), as_text(d.get("revision")))
        )
    return deployments


def _product_operations(
    data: dict[str, Any],
) -> tuple[dict[str | None, dict[tuple[str, str], set[str]]], dict[str | None, set[str]]]:
    """(per proxy: the API products of each (method, resource) its products' operation groups name,
    per proxy: every API product that bundles it)."""
    operations: dict[str | None, dict[tuple[str, str], set[str]]] = {}
    products_of: dict[str | None, set[str]] = {}
    for product in map(as_dict, as_list(data.get("products"))):
        name = as_text(product.get("name"))
        if not name:
            continue
        for proxy in as_list(product.get("proxies")):
            products_of.setdefault(as_text(proxy), set()).add(name)
        for config in map(as_dict, as_list(as_dict(product.get("operationGroup")).get("operationConfigs"))):
            source = as_text(config.get("apiSource"))
            products_of.setdefault(source, set()).add(name)
            for op in map(as_dict, as_list(config.get("operations"))):
                resource = as_text(op.get("resource")) or "/"
                for method in as_list(op.get("methods")) or ["*"]:
                    key = (str(method).upper(), resource)
                    operations.setdefault(source, {}).setdefault(key, set()).add(name)
    return operations, products_of


def _targets(
    proxy: dict[str, Any], deployments: list[tuple[str | None, str | None]]
) -> list[tuple[str | None, str | None, str]]:
    """(environment, revision, status) a proxy's records stand for: each deployment, or its latest
    revision, undeployed."""
    targets = [(env, rev, "deployed") for env, rev in deployments]
    if not targets:
        latest = proxy.get("latestRevisionId") or (as_list(proxy.get("revision")) or [None])[-1]
        targets = [(None, as_text(latest), "undeployed")]
    return targets


def _route_records(
    common: dict[str, Any],
    hosts: list[str],
    base_paths: list[str],
    operations: dict[tuple[str, str], set[str]],
    proxy_products: list[str],
) -> Iterator[dict[str, Any]]:
    """A record per host, base path and operation; one prefix record per host and base path of a proxy
    no API product's operations name."""
    for host in hosts:
        for base_path in base_paths:
            if not operations:
                yield make_record(
                    **common,
                    host=host,
                    base_path=base_path,
                    method="*",
                    path="",
                    path_match="prefix",
                    products=proxy_products,
                )
            for (method, resource), products in sorted(operations.items()):
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


SOURCE = Source(
    name="apigee",
    role="gateway",
    defaults={"auth_type": "service_account", "rate_limit": 6000, "page_size": 1000, "flavor": "x"},
    raw_shape={"proxies": list, "deployments": list, "revisions": list, "envgroups": list, "products": list},
    settings_schema={
        "organization": {"description": "Apigee organization.", "type": "string"},
        "environments": {
            "description": "Apigee environments to include (default: all).",
            "type": "array",
            "items": {"type": "string"},
        },
        "flavor": {
            "description": "Apigee flavour: x (X and hybrid) or edge.",
            "enum": ["x", "hybrid", "edge"],
        },
    },
    required_settings=("organization",),
    incremental=True,
    check=check,
    fetch=fetch,
    counts=counts,
    normalize=normalize,
    simulator="apiinv.sandbox.apigee",
)
