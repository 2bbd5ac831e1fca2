"""openapi_specs: OpenAPI documents in a repository checkout, read the way the sandbox lays them out and
the ways a hostile or broken repository can."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.sources import openapi_specs


def records(raw: dict) -> list[dict]:
    return list(openapi_specs.normalize(raw))


def by_key(raw: dict) -> dict[str, dict]:
    return {r["endpoint_key"]: r for r in records(raw)}


def test_files_cost_no_request(sandbox, tmp_path: Path) -> None:
    outcome, _ = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok, outcome.summary()
    assert outcome.stats["requests"] == 0


@pytest.mark.sandbox_tools("openapi_specs")
def test_references_servers_security_and_owners_resolve(sandbox, tmp_path: Path) -> None:
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    found = by_key(raw)
    # OpenAPI 3.1 split over files: a path item and security schemes in other files ($ref), a
    # parameter by internal $ref, and a server variable expanded to both values of its enum.
    for region in ("eu", "us"):
        listed = found[f"GET {region}.pets.acme.example/v2/pets"]
        assert listed["auth_required"] and listed["auth_types"] == ["api_key"]
        assert listed["owner"] == "Pets (Commerce)" and listed["api_name"] == "Pet store"
        created = found[f"POST {region}.pets.acme.example/v2/pets"]
        assert created["auth_types"] == ["oauth2"] and created["owner"] == "Pet admissions"
        assert not found[f"GET {region}.pets.acme.example/v2/health"]["auth_required"]  # security: []
        assert f"GET {region}.pets.acme.example/v2/pets/{{}}" in found
    # Swagger 2.0 in JSON: host, basePath and schemes; a per-operation override of the document's basic.
    assert found["GET orders-legacy.acme.example/v1/orders"]["auth_types"] == ["basic"]
    label = found["GET orders-legacy.acme.example/v1/orders/{}/label"]
    assert (
        not label["auth_required"] and label["owner"] == "Logistics" and label["url"].startswith("https://")
    )
    # The estate's specs in 2.0, 3.0 and 3.1, each merged on the hosts and paths its gateway serves.
    versions = {d.get("swagger") or d.get("openapi") for d in raw["data"]["documents"]}
    assert {"2.0", "3.0.3", "3.1.0"} <= versions
    # A document with schema violations: a warning naming the file and the JSON pointer of each, and
    # every operation that can be read is kept.
    assert all("broken/inventory.yaml: " in warning for warning in outcome.warnings)
    assert any(
        w.endswith(
            "broken/inventory.yaml: OpenAPI violation at /paths/~1stock/get: "
            "'responses' is a required property"
        )
        for w in outcome.warnings
    ), outcome.warnings
    assert {"GET stock.acme.example/stock", "GET stock.acme.example/stock/{}"} <= set(found)


@pytest.mark.sandbox_tools("openapi_specs")
def test_hostile_and_broken_files_cost_only_themselves(sandbox, tmp_path: Path) -> None:
    from hostile_api import ALIAS_BOMB, HostileServer

    repo = sandbox.config_dir / "specs" / "examples"
    (repo / "bomb.yaml").write_text("openapi: 3.0.3\n" + ALIAS_BOMB)
    (repo / "escape.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x: {$ref: '/etc/passwd'}\n"
    )
    with HostileServer() as server:
        (repo / "remote.yaml").write_text(
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
            f"paths:\n  /x: {{$ref: '{server.url}/paths.yaml'}}\n"
        )
        (repo / "deep.json").write_text('{"openapi": "3.0.3", "x": ' + "[" * 600 + "]" * 600 + "}")
        outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
        assert server.received == []  # a remote reference is never fetched
    assert outcome.ok, outcome.summary()
    warned = "\n".join(outcome.warnings)
    for name in ("bomb.yaml", "escape.yaml", "remote.yaml", "deep.json", "broken/inventory.yaml"):
        assert name in warned, warned
    assert "root:" not in json.dumps(raw)  # nothing of /etc/passwd was read
    assert raw["counts"]["documents"] == sandbox.truth()["openapi_specs"]["documents"]


def test_a_missing_checkout_fails_the_tool_and_its_last_data_stands_in(cli, sandbox) -> None:
    day1, day2 = str(RUN_DATE - timedelta(days=1)), str(RUN_DATE)

    def run(day: str):
        sandbox.set_date(date.fromisoformat(day))
        result = cli("--date", day, "run", "--all", config_dir=sandbox.config_dir)
        return result, json.loads((cli.output / day / f"api-inventory-{day}.json").read_text())

    first, before = run(day1)
    assert first.exit_code == 0, first.output
    sandbox.simulators["openapi_specs"].inject("gone")
    result, report = run(day2)
    assert result.exit_code == 5 and "openapi_specs: FAILED: none of the paths exists" in result.output
    specs = report["run"]["tools"]["openapi_specs"]
    assert (specs["status"], specs["data_date"]) == ("failed", day1)
    assert specs["records"] == before["run"]["tools"]["openapi_specs"]["records"] > 0
    assert f"openapi_specs failed, data of {day1} used" in report["run"]["banner"]
    # The stand-in data is in the inventory itself, not only counted.
    assert any("openapi_specs" in r["tools"] for r in report["records"])


@pytest.mark.sandbox_tools("openapi_specs")
def test_a_glob_confines_references_to_its_own_folder(sandbox, tmp_path: Path) -> None:
    """``specs/examples/**/*.yaml`` reads below specs/examples: a reference to a sibling folder of the
    checkout is refused like one to any other file of the machine."""
    (sandbox.config_dir / "specs" / "secret.yaml").write_text("paths:\n  /leak: {get: {}}\n")
    (sandbox.config_dir / "specs" / "examples" / "sibling.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /x: {$ref: '../secret.yaml#/paths/~1leak'}\n"
    )
    glob_paths = [str(sandbox.config_dir / "specs" / "examples" / "**" / "*.yaml")]
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path, settings={"paths": glob_paths})
    assert outcome.ok, outcome.summary()
    assert any("sibling.yaml" in w and "outside the spec folders" in w for w in outcome.warnings), (
        outcome.warnings
    )
    assert "/leak" not in json.dumps(raw)


@pytest.mark.sandbox_tools("openapi_specs")
def test_paths_are_relative_to_the_configuration_folder(sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the configuration folder
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok and raw["counts"]["documents"] > 2


def test_an_api_in_a_gateway_and_in_a_spec_file_is_neither_shadow_nor_unaudited_by_spec(cli, sandbox) -> None:
    day = str(RUN_DATE)
    assert cli("--date", day, "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    report = json.loads((cli.output / day / f"api-inventory-{day}.json").read_text())
    both = [
        r
        for r in report["records"]
        if "openapi_specs" in r["tools"]
        and ({"kong", "apigee"} & set(r["tools"]))
        and "42crunch" not in r["tools"]
    ]
    assert both, "the sandbox keeps some gateway APIs' specs only in the repository"
    shadow = {r["endpoint_key"] for r in report["findings"]["shadow"]}
    unaudited = {r["endpoint_key"]: r["reason"] for r in report["findings"]["unaudited"]}
    for row in both:
        assert row["endpoint_key"] not in shadow
        assert unaudited.get(row["endpoint_key"]) != "no audit: in no spec"


def _nested_items(levels: int) -> dict:
    """A response schema of arrays of arrays: openapi-spec-validator recurses most per level on these."""
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "array", "items": schema}
    return schema


@pytest.mark.sandbox_tools("openapi_specs")
@pytest.mark.parametrize(
    ("name", "text"),
    [("deep.yaml", "[" * 20_000), ("deep.json", "[" * 20_000 + "]" * 20_000)],
)
def test_a_document_nested_deeper_than_any_reader_follows_costs_only_itself(
    sandbox, tmp_path: Path, name: str, text: str
) -> None:
    from apiinv.bounds import MAX_DEPTH

    repo = sandbox.config_dir / "specs" / "examples"
    (repo / name).write_text(text)
    # Beside it, a 3.1 document exactly MAX_DEPTH levels deep (its response schema at level 9) is read.
    schema = _nested_items(MAX_DEPTH - 9)
    response = {"description": "ok", "content": {"application/json": {"schema": schema}}}
    edge = {
        "openapi": "3.1.0",
        "info": {"title": "Edge", "version": "1"},
        "servers": [{"url": "https://edge.acme.example"}],
        "paths": {"/edge": {"get": {"responses": {"200": response}}}},
    }
    (repo / "edge.json").write_text(json.dumps(edge))
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok, outcome.summary()
    assert any(
        w.endswith(f"{name}: refused: the document is nested deeper than {MAX_DEPTH} levels")
        for w in outcome.warnings
    ), outcome.warnings
    assert "GET edge.acme.example/edge" in by_key(raw)
    assert_one_document_more(raw, sandbox)


def _repository(tmp_path: Path, *settings: str) -> Path:
    """A configuration folder whose one tool, ``specs``, reads the folder ``specs`` beside it."""
    folder = tmp_path / "config"
    (folder / "specs").mkdir(parents=True)
    lines = "".join(f"  {line}\n" for line in settings)
    (folder / "tools.yaml").write_text(f"specs:\n  type: openapi_specs\n  paths: [specs]\n{lines}")
    return folder


def assert_one_document_more(raw: dict, sandbox) -> None:
    """The counts are the sandbox's truth and one document of one operation more."""
    truth = sandbox.truth()["openapi_specs"]
    assert raw["counts"] == truth | {
        "documents": truth["documents"] + 1,
        "operations": truth["operations"] + 1,
    }


def _spec(path: str, **extra: object) -> str:
    document = {
        "openapi": "3.0.3",
        "info": {"title": path, "version": "1", **extra},
        "servers": [{"url": "https://repo.acme.example"}],
        "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    return json.dumps(document)


def test_a_spec_file_over_max_spec_mb_is_refused_unread(cli, tmp_path: Path) -> None:
    from apiinv.store import Store, read_json

    folder = _repository(tmp_path, "max_spec_mb: 1")
    (folder / "specs" / "small.json").write_text(_spec("/small"))
    (folder / "specs" / "big.json").write_text(_spec("/big", description="x" * 2 * 1024 * 1024))
    result = cli("--date", str(RUN_DATE), "collect", "specs", config_dir=folder)
    assert result.exit_code == 0, result.output
    store = Store(cli.output)
    warnings = store.read_manifest(RUN_DATE)["tools"]["specs"]["collect"]["warnings"]
    assert warnings == [f"{folder / 'specs' / 'big.json'}: 2.0 MB, over max_spec_mb 1: not read"]
    files = [d["file"] for d in read_json(store.raw_path(RUN_DATE, "specs"))["data"]["documents"]]
    assert files == [str(folder / "specs" / "small.json")]


def test_spec_files_named_in_bytes_not_utf8_are_read_and_named_printably(cli, tmp_path: Path) -> None:
    import os

    from apiinv.store import Store, read_json

    folder = _repository(tmp_path)
    specs = os.fsencode(folder / "specs")
    try:
        Path(os.fsdecode(specs + b"/\xff-odd.json")).write_text(_spec("/odd"))
        Path(os.fsdecode(specs + b"/\xfe-broken.json")).write_text('{"openapi": "3.0.3", "paths": {}}')
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    (folder / "specs" / "good.json").write_text(_spec("/good"))
    result = cli("--date", str(RUN_DATE), "run", "specs", config_dir=folder)
    assert result.exit_code == 0, result.output
    assert "cannot write the log" not in result.output
    store = Store(cli.output)
    (warning,) = store.read_manifest(RUN_DATE)["tools"]["specs"]["collect"]["warnings"]
    assert (
        warning
        == f"{folder / 'specs'}/\\xfe-broken.json: OpenAPI violation at /: 'info' is a required property"
    )
    log = (cli.output / "logs" / "apiinv.log").read_text()
    logged = [json.loads(line)["msg"] for line in log.splitlines()]
    assert any(warning in message for message in logged)
    files = {d["file"] for d in read_json(store.raw_path(RUN_DATE, "specs"))["data"]["documents"]}
    assert f"{folder / 'specs'}/\\xff-odd.json" in files
    report = json.loads((cli.output / str(RUN_DATE) / f"api-inventory-{RUN_DATE}.json").read_text())
    keys = {r["endpoint_key"] for r in report["records"]}
    assert {"GET repo.acme.example/odd", "GET repo.acme.example/good"} <= keys


@pytest.mark.sandbox_tools("openapi_specs")
def test_a_chain_of_references_too_long_to_follow_costs_only_its_document(sandbox, tmp_path: Path) -> None:
    """Shallow, but each schema refers to the next: what recurses is the resolver, not the depth."""
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(2_000)}
    chain = {
        "openapi": "3.0.3",
        "info": {"title": "Chain", "version": "1"},
        "paths": {"/chain": {"get": {"responses": {"200": {"$ref": "#/components/responses/R"}}}}},
        "components": {
            "responses": {
                "R": {"description": "ok", "content": {"application/json": {"schema": schemas["S0"]}}}
            },
            "schemas": {**schemas, "S2000": {"type": "string"}},
        },
    }
    (sandbox.config_dir / "specs" / "examples" / "chain.json").write_text(json.dumps(chain))
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok, outcome.summary()
    assert any(
        w.endswith(
            "chain.json: OpenAPI violation at /: validation stopped: its references nest too deeply to follow"
        )
        for w in outcome.warnings
    ), outcome.warnings
    # Its operation is read all the same: what the inventory reads of it does not follow the chain.
    assert "GET /chain" in by_key(raw)
    assert_one_document_more(raw, sandbox)


@pytest.mark.sandbox_tools("openapi_specs")
def test_the_sandbox_documents_hold_per_operation_servers_and_parameters_inside_segments(
    sandbox, tmp_path: Path
) -> None:
    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok, outcome.summary()
    files = [r for r in records(raw) if r["api_name"] == "Files"]
    hosts = {r["endpoint_key"]: r["url"] for r in files}
    # OAS 3.0.3 sections 4.7.9 and 4.7.10: servers of the path item or operation, not the document's.
    assert hosts == {
        "GET account.files.acme.example/oauth2/authorize": "https://account.files.acme.example/oauth2/authorize",
        "POST upload.files.acme.example/2.0/files/content": "https://upload.files.acme.example/2.0/files/content",
        "GET api.files.acme.example/2.0/files/{}": "https://api.files.acme.example/2.0/files/{file_id}",
        # http and https variants of one server are one record, on https
        "GET media.files.acme.example/2.0/files/{}/thumbnail.{}": (
            "https://media.files.acme.example/2.0/files/{file_id}/thumbnail.{extension}"
        ),
    }
    assert len(files) == len(hosts)
    voice = {r["endpoint_key"] for r in records(raw) if r["api_name"] == "Voice"}
    assert voice == {
        "GET voice.acme.example/2010-04-01/Accounts/{}/Calls.json",
        "GET voice.acme.example/2010-04-01/Accounts/{}/Calls/{}.json",
    }
    # The petstore's path item and schemes files, reached only by $ref: counted, not warned about.
    assert raw["counts"]["other_files"] == 2
    assert not any("pets.yaml" in w or "schemes.yaml" in w for w in outcome.warnings)


def test_a_document_whose_files_are_unchanged_is_reused_unparsed_and_the_report_is_the_same(
    cli, tmp_path: Path, monkeypatch
) -> None:
    """Day two parses only the documents whose bytes, or the bytes of a file they refer to, changed;
    --full parses every one again. What is reused is what was read: the inventory is the same."""
    from apiinv.inventory import openapi
    from apiinv.store import Store

    parsed: list[str] = []
    parse = openapi.parse_document

    def counted(data: bytes, name: str):
        parsed.append(name)
        return parse(data, name)

    monkeypatch.setattr(openapi, "parse_document", counted)
    folder = _repository(tmp_path)
    specs = folder / "specs"
    for name in ("a", "b", "c"):
        (specs / f"{name}.json").write_text(_spec(f"/{name}"))
    (specs / "shared").mkdir()
    (specs / "shared" / "paths.yaml").write_text("item:\n  get: {responses: {'200': {description: ok}}}\n")
    uses_shared = json.loads(_spec("/d"))
    uses_shared["paths"] = {"/d": {"$ref": "shared/paths.yaml#/item"}}
    (specs / "d.json").write_text(json.dumps(uses_shared))
    (specs / "e.json").write_text(_spec("/e", version=2))  # a violation: info.version is a string
    days = [str(RUN_DATE + timedelta(days=n)) for n in range(4)]

    def run(day: str, *options: str) -> tuple[set[str], list[dict]]:
        parsed.clear()
        result = cli("--date", day, "run", "specs", *options, config_dir=folder)
        assert result.exit_code == 0, result.output
        report = json.loads((cli.output / day / f"api-inventory-{day}.json").read_text())
        keep = ("endpoint_key", "api_name", "auth_required", "status", "tools")
        return {Path(n).name for n in parsed}, [{k: r.get(k) for k in keep} for r in report["records"]]

    first, records = run(days[0])
    assert first == {"a.json", "b.json", "c.json", "d.json", "e.json", "paths.yaml"}
    # A document with a violation is read again, so its warning is said every day.
    assert run(days[1]) == ({"e.json"}, records)
    collected = Store(cli.output).read_manifest(days[1])["tools"]["specs"]["collect"]
    assert collected["reused"] == 5
    assert any("e.json: OpenAPI violation at /info/version" in w for w in collected["warnings"])

    (specs / "b.json").write_text(_spec("/b2"))
    (specs / "shared" / "paths.yaml").write_text("item:\n  post: {responses: {'200': {description: ok}}}\n")
    changed, changed_records = run(days[2])
    assert changed == {"b.json", "d.json", "e.json", "paths.yaml"}
    keys = {r["endpoint_key"] for r in changed_records}
    assert {"GET repo.acme.example/b2", "POST repo.acme.example/d"} <= keys
    assert not {"GET repo.acme.example/b", "GET repo.acme.example/d"} & keys

    assert run(days[3], "--full")[0] == {"a.json", "b.json", "c.json", "d.json", "e.json", "paths.yaml"}


def test_no_validated_document_stays_in_memory_after_the_crawl(sandbox, tmp_path: Path) -> None:
    # openapi-spec-validator caches each validator (and the document it holds) for the life of the
    # process; a large estate's documents would all stay in memory through process and export.
    import gc

    from openapi_spec_validator.validation.validators import SpecValidator

    outcome, raw = fetch(sandbox, "openapi_specs", tmp_path)
    assert outcome.ok and raw["counts"]["documents"] > 1, outcome.summary()
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, SpecValidator)]
    assert alive == [], f"{len(alive)} validators (and their documents) are still in memory"
