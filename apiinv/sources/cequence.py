"""Cequence Unified API Protection: the endpoints seen in traffic.

Cequence does not publish its inventory API, so the paths, the pagination and the field names are
configuration with documented defaults (which the bundled simulator serves); a customer fills them in
from their tenant's API reference in tools.yaml without a code change:

    cequence:
      endpoints: {inventory: /apisec/api/v1/endpoints, hosts: /apisec/api/v1/hosts}
      pagination: {strategy: offset, items_key: items, total_key: total, size_param: limit}
      fields: {host: host, method: method, path: path, auth_type: meta.auth.types, ...}

Field values are dotted paths into each item; list values stay lists (see ``sources/mapping.py``). A
mapped field found in no item is a warning in the manifest; the hosts listing is optional: when it
fails, that is a warning too, since no record depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apiinv.errors import CollectionError
from apiinv.inventory.records import as_dict, as_list, as_text, make_record, risk_level
from apiinv.sources.mapping import as_strings, never_present, pick
from apiinv.timefmt import from_rfc3339

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext

ROLE = "traffic"
SIMULATOR = "apiinv.sandbox.cequence"
SETTINGS_SCHEMA: dict[str, Any] = {
    "endpoints": {
        "description": "API paths by name (inventory, hosts).",
        "type": "object",
        "additionalProperties": {"type": "string"},
    },
    "pagination": {"description": "Pagination strategy and its parameter names.", "type": "object"},
    "fields": {
        "description": "Record field names by meaning.",
        "type": "object",
        "additionalProperties": {"type": "string"},
    },
}
DEFAULTS = {"auth_type": "oauth", "page_size": 500}
RAW_SHAPE = {"endpoints": list}
ENDPOINTS = {"inventory": "/apisec/api/v1/endpoints", "hosts": "/apisec/api/v1/hosts"}
PAGINATION = {"strategy": "offset", "items_key": "items", "total_key": "total"}
FIELDS = {
    "id": "id",
    "host": "host",
    "method": "method",
    "path": "path",
    "active": "active",
    "transactions": "transactionCount",
    "risk_score": "riskScore",
    "risk_level": "riskLevel",
    "sensitive_data": "sensitiveDataTypes",
    "authenticated": "authenticated",
    "auth_type": "authType",
    "access_type": "accessType",
    "api_name": "apiName",
    "first_seen": "firstSeen",
    "last_seen": "lastSeen",
}


def endpoints(tool: ToolConfig) -> dict[str, str]:
    return {**ENDPOINTS, **(tool.settings.get("endpoints") or {})}


def pagination(tool: ToolConfig) -> dict[str, Any]:
    return {**PAGINATION, **(tool.settings.get("pagination") or {})}


def fields(tool: ToolConfig) -> dict[str, str]:
    return {**FIELDS, **(tool.settings.get("fields") or {})}


def settings_problems(settings: dict[str, Any]) -> list[str]:
    """What validate-config says of this source's own settings (before any collection fails on them)."""
    from apiinv.config import did_you_mean
    from apiinv.http.paginate import PAGINATORS

    problems = []
    strategy = (settings.get("pagination") or {}).get("strategy", PAGINATION["strategy"])
    if strategy not in PAGINATORS:
        problems.append(
            f"pagination.strategy: unknown {strategy!r}{did_you_mean(strategy, PAGINATORS)} "
            f"(known: {', '.join(sorted(PAGINATORS))})"
        )
    unknown = sorted(set(settings.get("fields") or {}) - set(FIELDS))
    if unknown:
        problems.append(f"fields: unknown meaning(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
    return problems


def check(client: HttpClient, tool: ToolConfig) -> str:
    client.get_json(endpoints(tool)["inventory"], params={"limit": 1})
    return "inventory readable"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    paths = endpoints(ctx.tool)
    options = pagination(ctx.tool)
    strategy, items_key = options.pop("strategy"), options.pop("items_key")

    def listing(path: str | None) -> list[Any]:
        if path is None:
            return []
        try:
            return ctx.client.paginate_all(path, strategy=strategy, items_key=items_key, **options)
        except CollectionError as exc:
            if path == paths["inventory"]:
                raise
            ctx.warn(f"optional listing {path} failed ({exc.message}); the inventory does not need it")
            return []

    inventory, hosts = ctx.map(listing, [paths["inventory"], paths.get("hosts")])
    mapping = fields(ctx.tool)
    for meaning in never_present(inventory, mapping) if inventory else []:
        ctx.warn(
            f"fields.{meaning}: {mapping[meaning]!r} is in none of the {len(inventory):,} endpoints; "
            "check the field mapping"
        )
    return {"fields": mapping, "endpoints": inventory, "hosts": hosts}


def counts(raw: dict[str, Any]) -> dict[str, int]:
    return {"endpoints": len(raw.get("endpoints") or []), "hosts": len(raw.get("hosts") or [])}


# ---------------------------------------------------------------------------------------------- normalize

AUTH_TYPES = {
    "api_key": "api_key",
    "apikey": "api_key",
    "oauth2": "oauth2",
    "oauth": "oauth2",
    "jwt": "jwt",
    "basic": "basic",
    "bearer": "bearer",
    "mtls": "mtls",
}


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    data, instance, collected = as_dict(raw["data"]), raw["tool"], raw.get("collected_at")
    names = {**FIELDS, **{k: v for k, v in as_dict(data.get("fields")).items() if isinstance(v, str)}}
    for endpoint in map(as_dict, as_list(data.get("endpoints"))):

        def get(meaning: str, endpoint: dict[str, Any] = endpoint) -> Any:
            return pick(endpoint, names[meaning])

        authenticated = get("authenticated")
        auth_types = sorted({AUTH_TYPES.get(t.lower(), t.lower()) for t in as_strings(get("auth_type"))})
        access = as_text(get("access_type"))
        yield make_record(
            tool="cequence",
            instance=instance,
            collected_at=collected,
            api_id=as_text(get("id")),
            api_name=as_text(get("api_name")),
            host=get("host"),
            base_path="",
            method=get("method"),
            path=get("path"),
            status="inactive" if get("active") is False else "active",
            auth_required=authenticated if isinstance(authenticated, bool) else None,
            auth_types=auth_types,
            sensitive_data=as_strings(get("sensitive_data")),
            risk_score=_number(get("risk_score")),
            risk_level=risk_level(get("risk_level")),
            first_seen=from_rfc3339(get("first_seen")),
            last_seen=from_rfc3339(get("last_seen")),
            tags=[f"access:{access.lower()}"] if access else [],
        )


def _number(value: Any) -> float | None:
    """A score of 0 to 100, or None: an odd value is dropped, never the endpoint that carries it."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number <= 100 else None
