"""42Crunch platform API: collections, APIs with assessment and scan summaries, spec files, audit reports."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import EstateApp, rfc3339
from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import Api, EstateDay, Operation
from apiinv.sandbox.server import Request, Response, error_response, json_response

SECURITY_SCHEMES = {
    "apikey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "oauth2": {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "https://auth.acme.example/token", "scopes": {}}},
    },
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Crunch42App(EstateApp):
    name = "42crunch"

    def __init__(self, estate, *, api_key: str, **kwargs) -> None:
        super().__init__(estate, **kwargs)
        self.api_key = api_key
        self.route("GET", "/api/v2/collections", self.collections)
        self.route("GET", "/api/v2/collections/{cid}/apis", self.collection_apis)
        self.route("GET", "/api/v1/apis/{aid}", self.api)
        self.route("GET", "/api/v1/apis/{aid}/assessmentreport", self.assessment_report)
        self.route("GET", "/api/v2/apis/{aid}/scanReports", self.scan_reports)

    def authenticate(self, request: Request) -> Response | None:
        if request.header("x-api-key") == self.api_key:
            return None
        return json_response({"error": "Unauthorized", "message": "invalid or missing API token"}, 401)

    # ---------------------------------------------------------------------------------------- model

    def _build(self, day: EstateDay) -> dict[str, Any]:
        apis: dict[str, tuple[Api, tuple[Operation, ...]]] = {}
        by_collection: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for api, ops in day.in_spec():
            apis[api.id] = (api, ops)
            by_collection.setdefault(api.collection_id, []).append(api.id)
            names[api.collection_id] = api.team
        return {"apis": apis, "collections": by_collection, "names": names}

    def _state(self) -> dict[str, Any]:
        return self.view(self._build)

    def _collection(self, cid: str, name: str, count: int) -> dict[str, Any]:
        return {
            "desc": {
                "id": cid,
                "name": name,
                "technicalName": _slug(name),
                "isShared": False,
                "source": "default",
            },
            "summary": {"apis": count, "writeApis": True, "readApis": True},
            "teamCounter": 1,
            "userCounter": 3,
        }

    def _api_summary(self, api: Api, ops: tuple[Operation, ...]) -> dict[str, Any]:
        audited = api.audited
        today = self.date.toordinal()
        audit_day = api.audited_on(today)
        rng_counts = [(api.index * k) % 7 for k in (1, 2, 3, 5, 7)]
        assessment = {
            "last": rfc3339(self.on_day(audit_day)) if audited else ("" if api.index % 2 else None),
            "isValid": audited,
            "isProcessed": audited,
            "grade": api.grade_on(self.date.toordinal()) if audited else 0,
            "numErrors": 0,
            "numInfos": rng_counts[0],
            "numLows": rng_counts[1],
            "numMediums": rng_counts[2],
            "numHighs": rng_counts[3] if api.grade_on(self.date.toordinal()) < 70 else 0,
            "numCriticals": rng_counts[4] if api.grade_on(self.date.toordinal()) < 40 else 0,
            "releasable": audited and api.grade_on(self.date.toordinal()) >= 70,
            "oasVersion": "3.0.3",
            "sqgPass": audited and api.grade_on(self.date.toordinal()) >= 70,
        }
        if audited and api.index % 13 == 5:
            del assessment["grade"]  # older platform answers carry no grade: only the report has the score
        scanned = audited and api.index % 3 == 0
        scan = {
            "isProcessed": scanned,
            "last": rfc3339(self.on_day(audit_day - 2, hour=3)) if scanned else "",
            "numHighs": rng_counts[1] if scanned else 0,
            "numMediums": rng_counts[2] if scanned else 0,
            "numLows": rng_counts[3] if scanned else 0,
            "state": "done" if scanned else "never",
            "totalIssues": sum(rng_counts[1:4]) if scanned else 0,
            "sqgPass": scanned,
        }
        return {
            "desc": {
                "id": api.id,
                "cid": api.collection_id,
                "name": api.title,
                "technicalName": api.name,
                "revisionOasCounter": api.spec_revision(today),
                "lock": False,
            },
            "assessment": assessment,
            "scan": scan,
            "tags": [
                {
                    "categoryName": "team",
                    "tagName": api.team,
                    "tagId": str(uuid.uuid5(uuid.NAMESPACE_DNS, api.team)),
                    "categoryId": "5b5c0a43-47f0-4b4c-9c11-6a32e36e5c5d",
                }
            ],
        }

    def spec(self, api: Api, ops: tuple[Operation, ...]) -> dict[str, Any]:
        auth = api.auth_on(self.date.toordinal())
        paths: dict[str, dict[str, Any]] = {}
        for op in ops:
            operation: dict[str, Any] = {
                "operationId": f"{op.method.lower()}{re.sub(r'[^A-Za-z]', '', op.template.title())}",
                "summary": f"{op.method} {op.template}",
                "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
            }
            if op.params:
                operation["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in op.params
                ]
            if op.public and auth:
                operation["security"] = []
            paths.setdefault(op.template, {})[op.method.lower()] = operation
        document: dict[str, Any] = {
            "openapi": "3.0.3",
            "info": {"title": api.title, "version": f"{api.version}.0.0", "description": api.description},
            "servers": [{"url": url} for url in api.servers],
            "paths": paths,
        }
        if auth:
            document["components"] = {"securitySchemes": {auth: SECURITY_SCHEMES[auth]}}
            document["security"] = [{auth: []}]
        return document

    # ---------------------------------------------------------------------------------------- routes

    @staticmethod
    def _page(request: Request, items: list[Any]) -> list[Any]:
        per_page = request.int_arg("perPage", 0)
        if per_page <= 0:
            return items
        page = max(1, request.int_arg("page", 1))
        return items[(page - 1) * per_page : page * per_page]

    def collections(self, request: Request) -> Response:
        state = self._state()
        listed = [
            self._collection(cid, state["names"][cid], len(aids))
            for cid, aids in sorted(state["collections"].items())
        ]
        return json_response({"list": self._page(request, listed)})

    def collection_apis(self, request: Request) -> Response:
        state = self._state()
        aids = state["collections"].get(request.params["cid"])
        if aids is None:
            return json_response({"error": "Not found", "message": "collection not found"}, 404)
        listed = [self._api_summary(*state["apis"][aid]) for aid in aids]
        if request.query.get("withTags") != "true":
            for item in listed:
                item.pop("tags")
        return json_response({"list": self._page(request, listed)})

    def _find(self, request: Request) -> tuple[Api, tuple[Operation, ...]] | None:
        return self._state()["apis"].get(request.params["aid"])

    def api(self, request: Request) -> Response:
        found = self._find(request)
        if found is None:
            return json_response({"error": "Not found", "message": "API not found"}, 404)
        document = self._api_summary(*found)
        if request.query.get("specfile") == "true":
            spec = json.dumps(self.spec(*found), ensure_ascii=False).encode()
            document["desc"]["specfile"] = base64.b64encode(spec).decode()
        return json_response(document)

    def assessment_report(self, request: Request) -> Response:
        found = self._find(request)
        if found is None or not found[0].audited:
            return error_response(404, "no assessment report")
        api, ops = found
        auth = api.auth_on(self.date.toordinal())
        unauthenticated = [f"{op.method.lower()} {op.template}" for op in ops if op.public or not auth]
        counts = self._api_summary(api, ops)["assessment"]
        report_score = api.grade_on(self.date.toordinal())
        report = {
            "score": report_score,
            "valid": True,
            "openapiState": "valid",
            "criticality": counts["numCriticals"],
            "issueCounter": {
                "none": 0,
                "info": counts["numInfos"],
                "low": counts["numLows"],
                "medium": counts["numMediums"],
                "high": counts["numHighs"],
                "critical": counts["numCriticals"],
            },
            "security": {"score": round(report_score * 0.7, 2), "issueCounter": counts["numHighs"]},
            "data": {"score": round(report_score * 0.3, 2)},
            "operationsNoAuthentication": unauthenticated,
            "summary": {
                "apiName": api.title,
                "basepath": api.base_path,
                "pathCounter": len({o.template for o in ops}),
                "operationCounter": len(ops),
            },
        }
        return json_response(
            {
                "tid": "a3c9f1e2-0000-4000-8000-000000000042",
                "aid": api.id,
                "cid": api.collection_id,
                "date": rfc3339(self.on_day(api.audited_on(self.date.toordinal()))),
                "type": "security",
                "enc": "base64",
                "data": base64.b64encode(json.dumps(report).encode()).decode(),
            }
        )

    def scan_reports(self, request: Request) -> Response:
        found = self._find(request)
        if found is None:
            return error_response(404, "API not found")
        scan = self._api_summary(*found)["scan"]
        if not scan["isProcessed"]:
            return json_response({"list": []})
        return json_response(
            {
                "list": [
                    {
                        "taskId": str(uuid.uuid5(uuid.NAMESPACE_URL, found[0].id)),
                        "date": scan["last"],
                        "state": "done",
                        "numHighs": scan["numHighs"],
                        "numMediums": scan["numMediums"],
                        "numLows": scan["numLows"],
                        "totalIssues": scan["totalIssues"],
                    }
                ]
            }
        )


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        app = Crunch42App(
            sandbox.estate,
            api_key=sandbox.api_key,
            rate_limit=sandbox.rate_limits.get("42crunch"),
            day=sandbox.day,
            latency=sandbox.latency,
        )
        super().__init__(sandbox, app)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        return {"api_base_url": url, "auth_type": "api_key", "assessment_reports": True, "scan_reports": True}

    def env(self, folder: Path) -> dict[str, str]:
        return {"APIINV_42CRUNCH_API_KEY": self.sandbox.api_key}

    def secrets(self) -> list[str]:
        return [self.sandbox.api_key]

    def truth(self) -> dict[str, int]:
        in_spec = self.sandbox.estate.on(self.sandbox.day).in_spec()
        return {
            "collections": len({a.collection_id for a, _ in in_spec}),
            "apis": len(in_spec),
            "operations": sum(len(ops) for _, ops in in_spec),
        }
