"""Real public OpenAPI documents (trimmed copies, tests/fixtures/openapi/real/README.md) read by the
openapi_specs source through the whole run, as a user reads them: every operation, the host each is
served on, the keys traffic meets them on, their auth, and each schema violation named by its JSON
pointer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import RUN_DATE

REAL = Path(__file__).parent.parent / "fixtures" / "openapi" / "real"
OPERATIONS = {"twilio": 9, "box": 8, "digitalocean": 8, "pagerduty": 4}


@pytest.fixture
def run(cli, tmp_path: Path) -> dict:
    """One run over a configuration whose one tool, ``specs``, reads a copy of the real documents."""
    folder = tmp_path / "config"
    shutil.copytree(REAL, folder / "real")
    (folder / "tools.yaml").write_text("specs:\n  type: openapi_specs\n  paths: [real]\n")
    result = cli("--date", str(RUN_DATE), "run", "specs", config_dir=folder)
    assert result.exit_code == 0, result.output
    day = cli.output / str(RUN_DATE)
    report = json.loads((day / f"api-inventory-{RUN_DATE}.json").read_text())
    manifest = json.loads((day / "manifest.json").read_text())
    return {"report": report, "collect": manifest["tools"]["specs"]["collect"], "output": result.output}


def test_every_operation_of_every_document_is_read(run) -> None:
    assert run["collect"]["counts"]["documents"] == len(OPERATIONS)
    assert run["collect"]["counts"]["operations"] == sum(OPERATIONS.values())
    # DigitalOcean's files reached only by $ref are counted, not warned about.
    assert run["collect"]["counts"]["other_files"] == 67
    assert not any("not an OpenAPI document" in w for w in run["collect"]["warnings"])


def test_box_operations_are_on_the_hosts_their_own_servers_name(run) -> None:
    keys = {r["endpoint_key"] for r in run["report"]["records"]}
    # OAS 3.0.3 section 4.7.10: an operation's servers override the document's (api.box.com/2.0).
    assert "GET account.box.com/api/oauth2/authorize" in keys
    assert "POST upload.box.com/api/2.0/files/content" in keys
    assert "POST api.box.com/oauth2/token" in keys
    assert "GET upload.box.com/api/2.0/files/upload_sessions/{}" in keys
    assert "GET api.box.com/2.0/files/{}/thumbnail.{}" in keys
    assert not any(
        k.startswith(("GET api.box.com/2.0/authorize", "POST api.box.com/2.0/files/content")) for k in keys
    )


def test_twilio_paths_with_parameters_inside_a_segment_get_keys_traffic_can_meet(run) -> None:
    keys = {r["endpoint_key"] for r in run["report"]["records"]}
    assert "GET api.twilio.com/2010-04-01/Accounts/{}/Calls/{}.json" in keys
    assert "POST api.twilio.com/2010-04-01/Accounts/{}/Calls.json" in keys
    assert not any("{Sid}" in k or "{AccountSid}" in k for k in keys)


def test_auth_comes_from_each_documents_security_schemes(run) -> None:
    auth = {r["endpoint_key"]: (r["auth_required"], r["auth_types"]) for r in run["report"]["records"]}
    assert auth["GET api.twilio.com/2010-04-01/Accounts.json"] == (True, ["basic"])
    assert auth["POST upload.box.com/api/2.0/files/content"] == (True, ["oauth2"])
    assert auth["GET api.digitalocean.com/v2/account"] == (True, ["bearer"])
    assert auth["GET api.pagerduty.com/incidents/{}"] == (True, ["api_key"])


def test_schema_violations_are_warnings_with_their_json_pointer_and_cost_no_operation(run) -> None:
    warnings = run["collect"]["warnings"]
    assert any(
        w.endswith(
            "pagerduty/openapiv3.json: OpenAPI violation at /paths/~1sre_agent~1memories/get/parameters/2"
            "/schema/default: '20 - incident_summary' is not of type 'integer'"
        )
        for w in warnings
    ), warnings
    assert any(
        w.endswith(
            "digitalocean/DigitalOcean-public.v2.yaml: OpenAPI violation at /tags/0/description: "
            "{'$ref': 'description.yml#/introduction'} is not of type 'string'"
        )
        for w in warnings
    ), warnings
    assert "GET api.pagerduty.com/sre_agent/memories" in {r["endpoint_key"] for r in run["report"]["records"]}
    # An operation given by $ref (not allowed in OAS 3.0, as DigitalOcean writes them all) is read.
    assert "DELETE api.digitalocean.com/v2/account/keys/{}" in {
        r["endpoint_key"] for r in run["report"]["records"]
    }
    assert not any(w for w in warnings if "twilio" in w or "box/" in w), warnings
