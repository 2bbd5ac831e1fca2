"""42Crunch API Security Platform: collections, their APIs, each API's spec, audit and scan.

Crawl: collections -> each collection's APIs (with tags, assessment and scan summaries) -> per API
the spec file (the source of operations, servers and security); when configured, the audit report
and the newest scan report.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from apiinv import memory
from apiinv.errors import MalformedResponseError
from apiinv.inventory.openapi import METHODS, auth, operations, parse_document, security_schemes, servers
from apiinv.inventory.records import as_dict, as_list, as_text, make_record
from apiinv.sources.base import Source, kept_since
from apiinv.timefmt import from_rfc3339

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext


def check(client: HttpClient, tool: ToolConfig) -> str:
    listed = client.get_list("/api/v2/collections", "list", params={"listOption": "ALL", "perPage": 0})
    return f"{len(listed)} collections visible"


def _list(ctx: FetchContext, path: str, params: dict[str, Any]) -> list[Any]:
    """perPage=0 asks for everything at once; a positive page size pages with page/perPage."""
    if ctx.tool.page_size <= 0:
        return ctx.client.get_list(path, "list", params={**params, "perPage": 0})
    return ctx.client.paginate_all(path, strategy="page", items_key="list", params=params)


def decode_base64_document(text: str, *, what: str, tool: str) -> Any:
    """A base64 JSON (or YAML) document, as 42Crunch sends spec files and audit reports."""
    try:
        raw = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise MalformedResponseError(f"{what}: not base64", tool=tool) from None
    try:
        document = parse_document(raw, what)
    except MalformedResponseError as exc:
        exc.tool = tool
        raise
    return document


def fetch(ctx: FetchContext) -> dict[str, Any]:
    settings = ctx.tool.settings
    collections = _list(ctx, "/api/v2/collections", {"listOption": "ALL"})

    def apis_of(collection: dict[str, Any]) -> list[dict[str, Any]]:
        cid = collection["desc"]["id"]
        return _list(ctx, f"/api/v2/collections/{cid}/apis", {"withTags": "true"})

    apis = [api for listed in ctx.map(apis_of, collections) for api in listed]

    # What the last complete collection fetched per API, reused while the listing says it is unchanged:
    # the spec while its revision counter is the same, a report while its date is. On a full crawl it
    # only stands in for an API whose own call fails.
    earlier = {
        as_dict(item.get("desc")).get("id"): item
        for item in as_list((ctx.fallback or {}).get("apis"))
        if isinstance(item, dict) and not item.get("missing")
    }

    def reusable(listing: str, aid: str, before: dict[str, Any], section: str, key: str) -> bool:
        return (
            ctx.previous is not None
            and listing in before
            and ctx.may_reuse(listing, aid)
            and _same(api_of[aid], before, section, key)
        )

    def details(api: dict[str, Any]) -> dict[str, Any]:
        aid = str(api["desc"]["id"])
        before = earlier.get(aid) or {}
        entry = (
            _spec_of(ctx, api, before)
            if reusable("spec", aid, before, "desc", "revisionOasCounter")
            else None
        )
        if entry is None:
            kept = _kept_spec(api, before, ctx.previous_date)
            entry = ctx.per_item("spec", aid, partial(_fetch_spec, ctx, api), kept=kept) or {
                **api,
                "spec": None,
            }
            if entry.get("missing"):
                return entry
        reports: list[tuple[str, str, str, Callable[[FetchContext, str], Any]]] = [
            ("assessment_report", "assessment", "assessment_reports", _assessment_report),
            ("scan_report", "scan", "scan_reports", _scan_report),
        ]
        for listing, section, wanted, fetch_one in reports:
            if not settings.get(wanted) or not as_dict(api.get(section)).get("isProcessed"):
                continue
            if reusable(listing, aid, before, section, "last"):
                entry[listing] = ctx.reusing(before[listing])
            else:
                entry[listing] = ctx.per_item(
                    listing, aid, partial(fetch_one, ctx, aid), kept=before.get(listing)
                )
        return entry

    api_of = {str(api["desc"]["id"]): api for api in apis}
    ordered = ctx.failed_first("spec", apis, key=lambda api: str(api["desc"]["id"]))
    return {"collections": collections, "apis": ctx.map(details, ordered)}


def _kept_spec(api: dict[str, Any], before: dict[str, Any], day: str | None) -> dict[str, Any] | None:
    """The API as listed now with the spec of its last good collection, labelled with that date."""
    if not isinstance(before.get("spec"), dict | memory.RawJson):
        return None
    return {**api, "spec": before["spec"], "kept_from": kept_since(before, day)}


def _same(api: dict[str, Any], before: dict[str, Any] | None, section: str, key: str) -> bool:
    """Whether the listing's ``section.key`` is set and equal to what it was at the last collection."""
    if before is None:
        return False
    now = as_dict(api.get(section)).get(key)
    return now not in (None, "") and now == as_dict(before.get(section)).get(key)


def _spec_of(ctx: FetchContext, api: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any] | None:
    if before is None or ("spec" not in before):
        return None
    entry = {**api, "spec": ctx.reusing(before["spec"])}
    if "spec_error" in before:
        entry["spec_error"] = before["spec_error"]
    return entry


def _fetch_spec(ctx: FetchContext, api: dict[str, Any]) -> dict[str, Any]:
    aid = api["desc"]["id"]
    full = ctx.get_json_or_none(f"/api/v1/apis/{aid}", params={"specfile": "true"})
    if full is None:  # deleted between the listing and now
        return {**api, "spec": None, "missing": True}
    specfile = (full.get("desc") or {}).pop("specfile", None)
    entry = {**api, "spec": None}
    if specfile:
        try:
            spec = decode_base64_document(specfile, what=f"spec of API {aid}", tool=ctx.tool.name)
            entry["spec"] = memory.as_raw_json(spec)
        except MalformedResponseError as exc:
            # One hostile or broken spec costs that API its operations, not the whole tool.
            ctx.warn(f"{exc.message}; the API is listed without operations")
            entry["spec_error"] = exc.message
    return entry


def _scan_report(ctx: FetchContext, aid: str) -> Any:
    """The API's latest scan report, held as its JSON text (``Source.verbatim``), or None."""
    scans = ctx.client.get_list(f"/api/v2/apis/{aid}/scanReports", "list")
    return memory.as_raw_json(scans[0]) if scans else None


def _assessment_report(ctx: FetchContext, aid: str) -> Any:
    """The API's audit report, decoded and held as its JSON text (``Source.verbatim``)."""
    report = ctx.client.get_json(f"/api/v1/apis/{aid}/assessmentreport")
    if report.get("enc") == "base64" and isinstance(report.get("data"), str):
        report["data"] = decode_base64_document(
            report["data"], what=f"audit report of API {aid}", tool=ctx.tool.name
        )
        report["enc"] = "decoded"
    return memory.as_raw_json(report)


def counts(raw: dict[str, Any]) -> dict[str, int]:
    apis = raw.get("apis") or []
    operations = sum(
        sum(1 for method in (item or {}) if method in METHODS)
        for api in apis
        for item in ((memory.parsed(api.get("spec")) or {}).get("paths") or {}).values()
        if isinstance(item, dict)
    )
    return {"collections": len(raw.get("collections") or []), "apis": len(apis), "operations": operations}


# ---------------------------------------------------------------------------------------------- normalize


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        return None
    return float(value)


def _count(summary: Any, report: Any) -> int:
    for value in (summary, report):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return 0


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    data, instance, collected = as_dict(raw["data"]), raw["tool"], raw.get("collected_at")
    collections = {}
    for collection in as_list(data.get("collections")):
        desc = as_dict(as_dict(collection).get("desc"))
        collections[as_text(desc.get("id"))] = as_text(desc.get("name"))
    for api in map(as_dict, as_list(data.get("apis"))):
        desc, assessment, scan = (
            as_dict(api.get("desc")),
            as_dict(api.get("assessment")),
            as_dict(api.get("scan")),
        )
        # The listing's summary is the first source of the audit; an API whose summary lacks the grade
        # (older platform answers) takes score, counts and date from its assessment report when fetched.
        report = as_dict(api.get("assessment_report"))
        report_data = as_dict(report.get("data")) if report.get("enc") == "decoded" else {}
        grade = _score(assessment.get("grade"))
        if grade is None:
            grade = _score(report_data.get("score"))
        audited = assessment.get("isProcessed") is True or (grade is not None and bool(report_data))
        counter = as_dict(report_data.get("issueCounter"))
        common: dict[str, Any] = {
            "tool": "42crunch",
            "instance": instance,
            "collected_at": collected,
            "api_id": as_text(desc.get("id")),
            "api_name": as_text(desc.get("name")),
            "collection": collections.get(as_text(desc.get("cid"))),
            "status": "documented",
            "tags": [
                t["tagName"] for t in as_list(api.get("tags")) if isinstance(as_dict(t).get("tagName"), str)
            ]
            # Its spec could not be fetched this time: the operations are those of that date.
            + ([f"spec-kept-from:{api['kept_from']}"] if isinstance(api.get("kept_from"), str) else []),
            "audit_score": grade if audited else None,
            "audit_issues": {
                level: _count(assessment.get(field), counter.get(level))
                for level, field in AUDIT_COUNTS.items()
            }
            if audited
            else None,
            "audit_date": (from_rfc3339(assessment.get("last")) or from_rfc3339(report.get("date")))
            if audited
            else None,
            "scan_state": as_text(scan.get("state")),
            "scan_issues": scan.get("totalIssues") if scan.get("isProcessed") is True else None,
        }
        spec = api.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("paths"), dict):
            yield make_record(**common, host="", base_path="", method="*", path="", path_match="prefix")
            continue
        schemes = security_schemes(spec)
        for path, method, operation, item in operations(spec):
            required, types = auth(operation.get("security", spec.get("security")), schemes)
            for scheme, host, base_path in servers(spec, item, operation):
                yield make_record(
                    **common,
                    host=host,
                    base_path=base_path,
                    method=method,
                    path=path,
                    scheme=scheme,
                    auth_required=required,
                    auth_types=types,
                )


AUDIT_COUNTS = {
    "critical": "numCriticals",
    "high": "numHighs",
    "medium": "numMediums",
    "low": "numLows",
    "info": "numInfos",
}


SOURCE = Source(
    name="42crunch",
    role="spec",
    defaults={"auth_type": "api_key", "api_key_header": "X-API-KEY", "page_size": 0},
    raw_shape={"collections": list, "apis": list},
    settings_schema={
        "assessment_reports": {
            "description": "Also fetch each API's audit report (costly).",
            "type": "boolean",
        },
        "scan_reports": {"description": "Also fetch each API's latest scan report.", "type": "boolean"},
    },
    incremental=True,
    verbatim={"apis": ("spec", "assessment_report", "scan_report")},
    check=check,
    fetch=fetch,
    counts=counts,
    normalize=normalize,
    simulator="apiinv.sandbox.crunch42",
)
