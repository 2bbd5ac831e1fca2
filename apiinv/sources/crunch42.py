"""42Crunch API Security Platform: collections, their APIs, each API's spec, audit and scan.

Crawl: collections -> each collection's APIs (with tags, assessment and scan summaries) -> per API
the spec file (the source of operations, servers and security); when configured, the audit report
and the newest scan report.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

import orjson

from apiinv.errors import MalformedResponseError

if TYPE_CHECKING:
    from apiinv.collect import FetchContext
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "api_key", "api_key_header": "X-API-KEY", "page_size": 0}


def check(client: HttpClient, tool: ToolConfig) -> str:
    document = client.get_json("/api/v2/collections", params={"listOption": "ALL", "perPage": 0})
    return f"{len(document.get('list') or [])} collections visible"


def _list(ctx: FetchContext, path: str, params: dict[str, Any]) -> list[Any]:
    """perPage=0 asks for everything at once; a positive page size pages with page/perPage."""
    if ctx.tool.page_size <= 0:
        return ctx.client.get_json(path, params={**params, "perPage": 0}).get("list") or []
    return ctx.client.paginate_all(path, strategy="page", items_key="list", params=params)


def decode_base64_document(text: str, *, what: str, tool: str) -> Any:
    """A base64 JSON (or YAML) document, as 42Crunch sends spec files and audit reports."""
    try:
        raw = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise MalformedResponseError(f"{what}: not base64", tool=tool) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError:
            raise MalformedResponseError(f"{what}: neither JSON nor YAML", tool=tool) from None


def fetch(ctx: FetchContext) -> dict[str, Any]:
    settings = ctx.tool.settings
    collections = _list(ctx, "/api/v2/collections", {"listOption": "ALL"})

    def apis_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
        cid = collection["desc"]["id"]
        return _list(ctx, f"/api/v2/collections/{cid}/apis", {"withTags": "true"})

    apis = [api for listed in ctx.map(apis_of, collections) for api in listed]

    def details(api: dict[str, Any]) -> dict[str, Any]:
        aid = api["desc"]["id"]
        full = ctx.get_json_or_none(f"/api/v1/apis/{aid}", params={"specfile": "true"})
        if full is None:  # deleted between the listing and now
            return {**api, "spec": None, "missing": True}
        specfile = (full.get("desc") or {}).pop("specfile", None)
        entry = {
            **api,
            "spec": decode_base64_document(specfile, what=f"spec of API {aid}", tool=ctx.tool.name)
            if specfile
            else None,
        }
        if settings.get("assessment_reports") and (api.get("assessment") or {}).get("isProcessed"):
            report = ctx.client.get_json(f"/api/v1/apis/{aid}/assessmentreport")
            if report.get("enc") == "base64" and isinstance(report.get("data"), str):
                report["data"] = decode_base64_document(
                    report["data"], what=f"audit report of API {aid}", tool=ctx.tool.name
                )
                report["enc"] = "decoded"
            entry["assessment_report"] = report
        if settings.get("scan_reports") and (api.get("scan") or {}).get("isProcessed"):
            scans = ctx.client.get_json(f"/api/v2/apis/{aid}/scanReports").get("list") or []
            entry["scan_report"] = scans[0] if scans else None
        return entry

    return {"collections": collections, "apis": ctx.map(details, apis)}


def counts(raw: dict[str, Any]) -> dict[str, int]:
    apis = raw.get("apis") or []
    operations = sum(
        sum(1 for method in (item or {}) if method in _METHODS)
        for api in apis
        for item in ((api.get("spec") or {}).get("paths") or {}).values()
        if isinstance(item, dict)
    )
    return {"collections": len(raw.get("collections") or []), "apis": len(apis), "operations": operations}


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
