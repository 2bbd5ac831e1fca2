"""Cequence Unified API Protection: the endpoints seen in traffic.

Cequence does not publish its inventory API, so the paths, the pagination and the field names are
configuration with documented defaults (which the bundled simulator serves); a customer fills them in
from their tenant's API reference in tools.yaml without a code change:

    cequence:
      endpoints: {inventory: /apisec/api/v1/endpoints, hosts: /apisec/api/v1/hosts}
      pagination: {strategy: offset, items_key: items, total_key: total, size_param: limit}
      fields: {host: host, method: method, path: path, ...}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from apiinv.records import as_dict, as_list, as_text, make_record, risk_level
from apiinv.timefmt import from_rfc3339

if TYPE_CHECKING:
    from apiinv.collect import FetchContext
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

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


def check(client: HttpClient, tool: ToolConfig) -> str:
    client.get_json(endpoints(tool)["inventory"], params={"limit": 1})
    return "inventory readable"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    paths = endpoints(ctx.tool)
    options = pagination(ctx.tool)
    strategy, items_key = options.pop("strategy"), options.pop("items_key")

    def listing(path: str) -> list[Any]:
        return ctx.client.paginate_all(path, strategy=strategy, items_key=items_key, **options)

    wanted = [paths["inventory"]] + ([paths["hosts"]] if paths.get("hosts") else [])
    results = ctx.map(listing, wanted)
    return {
        "fields": fields(ctx.tool),
        "endpoints": results[0],
        "hosts": results[1] if len(results) > 1 else [],
    }


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
            return endpoint.get(names[meaning])

        authenticated = get("authenticated")
        auth_type = (as_text(get("auth_type")) or "").lower()
        access = as_text(get("access_type"))
        sensitive = get("sensitive_data") or []
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
            auth_types=[AUTH_TYPES.get(auth_type, auth_type)] if auth_type else [],
            sensitive_data=[str(s) for s in sensitive] if isinstance(sensitive, list) else [str(sensitive)],
            risk_score=_number(get("risk_score")),
            risk_level=risk_level(get("risk_level")),
            first_seen=from_rfc3339(get("first_seen")),
            last_seen=from_rfc3339(get("last_seen")),
            tags=[f"access:{access.lower()}"] if access else [],
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None
