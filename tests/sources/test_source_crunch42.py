from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sandbox.estate import HOSTILE_TITLES
from apiinv.sandbox.launch import Sandbox

pytestmark = pytest.mark.sandbox_tools("42crunch")  # what the sandbox fixture runs


def test_page_by_page_listing_gives_the_same_inventory(sandbox, tmp_path: Path) -> None:
    everything, raw_all = fetch(sandbox, "42crunch", tmp_path / "a")
    paged, raw_paged = fetch(sandbox, "42crunch", tmp_path / "b", page_size=2)
    assert raw_paged["counts"] == raw_all["counts"] == sandbox.truth()["42crunch"]
    assert paged.stats["pages"] > everything.stats["pages"]
    ids = [api["desc"]["id"] for api in raw_paged["data"]["apis"]]
    assert len(ids) == len(set(ids))


def test_specs_audit_and_scan_reports_are_decoded(sandbox, tmp_path: Path) -> None:
    _, raw = fetch(sandbox, "42crunch", tmp_path)
    apis = raw["data"]["apis"]
    for api in apis:
        assert api["spec"]["openapi"].startswith("3.")
        assert api["spec"]["servers"][0]["url"].startswith("https://")
    audited = [a for a in apis if a["assessment"]["isProcessed"]]
    assert audited and all(
        a["assessment_report"]["data"]["score"] == a["assessment"]["grade"]
        for a in audited
        if "grade" in a["assessment"]
    )
    assert all(a["assessment"]["last"] in (None, "") for a in apis if not a["assessment"]["isProcessed"])
    scanned = [a for a in apis if a["scan"]["isProcessed"]]
    assert scanned and all(a["scan_report"]["state"] == "done" for a in scanned)


def test_an_api_whose_summary_lacks_the_grade_takes_its_reports_score(tmp_path: Path) -> None:
    from apiinv.sources.crunch42 import normalize

    with Sandbox(size=120, seed=5, day=RUN_DATE, only=["42crunch"]) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        _, raw = fetch(sandbox, "42crunch", tmp_path)
    gradeless = {
        a["desc"]["id"]: a["assessment_report"]["data"]
        for a in raw["data"]["apis"]
        if a["assessment"]["isProcessed"] and "grade" not in a["assessment"]
    }
    assert gradeless  # the simulator serves such answers
    records = [r for r in normalize(raw) if r["api_id"] in gradeless]
    assert records
    for record in records:
        report = gradeless[record["api_id"]]
        assert record["audit_score"] == report["score"]
        assert record["audit_issues"]["high"] == report["issueCounter"]["high"]
        assert record["audit_date"] is not None


def test_reports_are_fetched_only_when_configured(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox, "42crunch", tmp_path, settings={"assessment_reports": False, "scan_reports": False}
    )
    assert not any("assessment_report" in api for api in raw["data"]["apis"])
    assert outcome.stats["requests"] == 1 + raw["counts"]["collections"] + raw["counts"]["apis"]


def test_hostile_vendor_strings_are_kept_verbatim(tmp_path: Path) -> None:
    with Sandbox(size=60, seed=5, day=RUN_DATE, only=["42crunch"]) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        _, raw = fetch(sandbox, "42crunch", tmp_path)
    names = {api["desc"]["name"] for api in raw["data"]["apis"]}
    specs = {api["spec"]["info"]["title"] for api in raw["data"]["apis"]}
    hostile = set(HOSTILE_TITLES) & names
    assert hostile and hostile <= specs


def test_a_refused_key_fails_the_tool_clearly(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(
        sandbox, "42crunch", tmp_path, credentials={"api_key": "api_00000000-0000-4000-8000-000000000000"}
    )
    assert not outcome.ok and raw is None
    assert outcome.error.code == "AUTHENTICATION_ERROR"
    assert "credentials refused (401)" in str(outcome.error)


@pytest.mark.parametrize("specfile", [b"[" * 20_000, b"[" * 20_000 + b"]" * 20_000], ids=["yaml", "json"])
def test_a_spec_nested_deeper_than_any_reader_follows_costs_its_api_only(
    sandbox, tmp_path: Path, specfile: bytes
) -> None:
    import base64
    import json

    from apiinv.bounds import MAX_DEPTH
    from apiinv.sandbox.server import json_response
    from apiinv.sources import crunch42

    app = sandbox.simulators["42crunch"].app
    victim, victim_ops = sandbox.estate.on(sandbox.day).in_spec()[0]
    honest = app.api

    def hostile(request):
        answer = honest(request)
        if request.params["aid"] != victim.id or "specfile" not in request.query:
            return answer
        document = json.loads(answer.body)
        document["desc"]["specfile"] = base64.b64encode(specfile).decode()
        return json_response(document)

    app.route("GET", "/api/v1/apis/{aid}", hostile)
    app.routes.insert(0, app.routes.pop())  # ahead of the honest route
    outcome, raw = fetch(sandbox, "42crunch", tmp_path)
    assert outcome.ok, outcome.summary()
    reason = f"spec of API {victim.id}: refused: the document is nested deeper than {MAX_DEPTH} levels"
    assert outcome.warnings == [f"{reason}; the API is listed without operations"]
    truth = sandbox.truth()["42crunch"]
    assert raw["counts"] == {**truth, "operations": truth["operations"] - len(victim_ops)}
    victims = [r for r in crunch42.normalize(raw) if r["api_id"] == victim.id]
    assert [(r["method"], r["path_match"]) for r in victims] == [("*", "prefix")]


# ---------------------------------------------------------------------------------------------- normalize

RAW = {
    "tool": "42c-prod",
    "type": "42crunch",
    "collected_at": "2026-11-23T02:00:00Z",
    "data": {
        "collections": [{"desc": {"id": "c1", "name": "Payments"}}],
        "apis": [
            {
                "desc": {"id": "a1", "cid": "c1", "name": "=cmd|' /C calc'!A0"},
                "assessment": {
                    "isProcessed": True,
                    "grade": 81.5,
                    "last": "2026-11-20T10:00:00.000Z",
                    "numCriticals": 1,
                    "numHighs": 2,
                    "numMediums": 3,
                    "numLows": 4,
                    "numInfos": 5,
                },
                "scan": {"isProcessed": True, "state": "done", "totalIssues": 7},
                "tags": [{"tagName": "pci", "categoryName": "compliance"}],
                "spec": {
                    "openapi": "3.0.3",
                    "servers": [
                        {"url": "https://{env}.acme.example/pay/v1", "variables": {"env": {"default": "api"}}}
                    ],
                    "components": {
                        "securitySchemes": {
                            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
                            "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                        }
                    },
                    "security": [{"key": []}],
                    "paths": {
                        "/payments/{paymentId}": {
                            "get": {},
                            "delete": {"security": [{"jwt": []}]},
                            "parameters": [],
                        },
                        "/health": {"get": {"security": []}},
                        "/optional": {"get": {"security": [{}, {"key": []}]}},
                    },
                },
            },
            {
                "desc": {"id": "a2", "cid": "c1", "name": "Specless"},
                "assessment": {"isProcessed": False, "last": ""},
                "scan": {},
                "spec": None,
            },
            {
                "desc": {"id": "a3", "cid": "c9", "name": "Legacy"},
                "assessment": {"isProcessed": False, "last": None},
                "scan": {"state": "never"},
                "spec": {
                    "swagger": "2.0",
                    "host": "legacy.acme.example",
                    "basePath": "/v2",
                    "schemes": ["http"],
                    "securityDefinitions": {"basic": {"type": "basic"}},
                    "security": [{"basic": []}],
                    "paths": {"/users": {"post": {}}},
                },
            },
        ],
    },
}


def test_normalize_gives_one_record_per_operation() -> None:
    from apiinv.inventory.records import problems
    from apiinv.sources import crunch42

    records = list(crunch42.normalize(RAW))
    by_key = {r["endpoint_key"]: r for r in records}
    assert sorted(by_key) == [
        "* /",
        "DELETE api.acme.example/pay/v1/payments/{}",
        "GET api.acme.example/pay/v1/health",
        "GET api.acme.example/pay/v1/optional",
        "GET api.acme.example/pay/v1/payments/{}",
        "POST legacy.acme.example/v2/users",
    ]
    get = by_key["GET api.acme.example/pay/v1/payments/{}"]
    assert get["url"] == "https://api.acme.example/pay/v1/payments/{paymentId}"
    assert (get["auth_required"], get["auth_types"]) == (True, ["api_key"])
    assert by_key["DELETE api.acme.example/pay/v1/payments/{}"]["auth_types"] == ["jwt"]
    assert by_key["GET api.acme.example/pay/v1/health"]["auth_required"] is False
    assert by_key["GET api.acme.example/pay/v1/optional"]["auth_required"] is False
    assert get["audit_score"] == 81.5 and get["audit_date"] == "2026-11-20T10:00:00Z"
    assert get["audit_issues"] == {"critical": 1, "high": 2, "medium": 3, "low": 4, "info": 5}
    assert (get["scan_state"], get["scan_issues"]) == ("done", 7)
    assert (get["collection"], get["tags"], get["api_name"]) == ("Payments", ["pci"], "=cmd|' /C calc'!A0")
    assert (get["tool"], get["instance"], get["status"]) == ("42crunch", "42c-prod", "documented")
    legacy = by_key["POST legacy.acme.example/v2/users"]
    assert legacy["url"] == "http://legacy.acme.example/v2/users" and legacy["auth_types"] == ["basic"]
    assert legacy["collection"] is None and legacy["audit_score"] is None
    assert by_key["* /"]["path_match"] == "prefix" and by_key["* /"]["api_name"] == "Specless"
    assert all(problems(r) == [] for r in records)
