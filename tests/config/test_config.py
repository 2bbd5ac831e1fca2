from __future__ import annotations

from pathlib import Path

import pytest

from apiinv import config
from apiinv.errors import ConfigurationError, UsageError


def write(folder: Path, planner: str | None = None, tools: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    if planner is not None:
        (folder / "planner.yaml").write_text(planner)
    if tools is not None:
        (folder / "tools.yaml").write_text(tools)
    return folder


def problems(folder: Path, env_file: Path | None = None) -> list[str]:
    loaded, report = config.validate(folder, env_file)
    assert loaded is None
    return report.problems


def test_the_plans_files_validate_as_written(plan_dir: Path) -> None:
    loaded, report = config.validate(plan_dir)
    assert report.problems == []
    assert loaded is not None
    schedules = loaded.planner.schedules
    assert schedules["daily_collection"].tools == ["cequence", "42crunch", "apigee"]
    assert schedules["daily_collection"].action == "run"
    assert schedules["weekly_processing"].action == "process"
    assert schedules["monthly_report"].action == "generate_reports"
    assert schedules["monthly_report"].tools == ["all"]
    assert loaded.tools["cequence"].rate_limit == 100
    assert loaded.tools["42crunch"].type == "42crunch"
    # credentials absent: a warning naming the variable, not a failure
    assert any("APIINV_CEQUENCE_API_KEY" in w for w in report.warnings)


def test_the_repositorys_own_config_validates() -> None:
    root = Path(__file__).resolve().parents[2]
    loaded, report = config.validate(root, env_file=None)
    assert report.problems == []
    assert loaded is not None and set(loaded.tools) >= {"cequence", "42crunch", "apigee", "kong"}


def test_aliases_cron_expression_and_job_type(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  nightly:\n    cron_expression: "30 1 * * 1-5"\n    job_type: collection\n',
        tools='kong:\n  api_base_url: "http://127.0.0.1:8001"\n',
    )
    loaded = config.load(folder, require_planner=True)
    assert loaded.planner.schedules["nightly"].cron == "30 1 * * 1-5"
    assert loaded.planner.schedules["nightly"].action == "collect"


def test_job_type_takes_actions_words_too(cli, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  nightly:\n    cron: "0 1 * * *"\n    job_type: collect\n'
        '  weekly:\n    cron: "0 4 * * 0"\n    job_type: generate_reports\n    action: generate_reports\n',
        tools='kong:\n  api_base_url: "http://127.0.0.1:8001"\n',
    )
    assert cli("validate-config", config_dir=folder).exit_code == 0
    listed = cli("schedule", "list", config_dir=folder).output
    assert "action collect;" in listed and "action generate_reports;" in listed


def test_every_problem_is_reported_with_its_path(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner="""\
schedules:
  daily:
    cron: "61 2 * * *"
    tools: ["cequence", "apigge"]
  weekly:
    cron: "0 4 * *"
    action: fortnightly
  monthly:
    cron: "0 6 1 * *"
    colour: blue
  hourly:
    cron: "0 25 * * *"
    mail_too: [a@b.example]
""",
        tools="""\
cequence:
  api_base_url: "https://api.cequence.ai"
  auth_type: "magic"
  rate_limit: "fast"
kong:
  api_base_url: "ftp://kong.internal"
apigee:
  api_base_url: "https://apigee.googleapis.com"
  auth_type: service_account
  credentials:
    key_file: "${APIGEE_KEY_FILE_UNSET}"
    token: "literal-secret-in-yaml"
mystery:
  api_base_url: "https://example.com"
""",
    )
    found = "\n".join(problems(folder))
    planner, tools = str(folder / "planner.yaml"), str(folder / "tools.yaml")
    expected = [
        f"{planner}: schedules.daily.cron: '61 2 * * *': minute 61 is out of range 0-59",
        f"{planner}: schedules.hourly.cron: '0 25 * * *': hour 25 is out of range 0-23",
        f"{planner}: schedules.daily.tools[1]: unknown tool 'apigge'; did you mean 'apigee'?",
        f"{planner}: schedules.weekly.cron: '0 4 * *' has 4 field(s); cron needs five",
        f"{planner}: schedules.hourly.mail_too: unknown key; did you mean 'mail_to'?",
        f"{tools}: kong.api_base_url: 'ftp://kong.internal' must be an http(s) URL or ${{VAR}}",
        f"{planner}: schedules.weekly.action: 'fortnightly' is not one of",
        f"{planner}: schedules.monthly.colour: unknown key",
        f"{tools}: cequence.auth_type: 'magic' is not one of",
        f"{tools}: cequence.rate_limit: 'fast' is not of type 'number'",
        f"{tools}: apigee.credentials.token: must name an environment variable as ${{VAR}}",
        f"{tools}: mystery.type: unknown tool type 'mystery'",
        # meaning, in the same pass as the schema's objections to the same entry
        f"{tools}: apigee.credentials.key_file: environment variable APIGEE_KEY_FILE_UNSET is not set",
    ]
    for message in expected:
        assert message in found, f"missing: {message}\n--- got:\n{found}"


def test_unset_credential_variable_is_named(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  s:\n    cron: "0 1 * * *"\n',
        tools='42crunch:\n  api_base_url: "https://platform.42crunch.com"\n'
        '  credentials:\n    api_key: "${MY_42C_KEY}"\n',
    )
    assert problems(folder) == [
        f"{folder / 'tools.yaml'}: 42crunch.credentials.api_key: environment variable MY_42C_KEY is not set"
    ]


def test_secrets_come_from_env_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write(
        tmp_path / "c",
        tools='42crunch:\n  api_base_url: "https://platform.42crunch.com"\n'
        '  credentials:\n    api_key: "${MY_42C_KEY}"\n'
        'cequence:\n  api_base_url: "https://x.example"\n  token_url: "https://auth.example/token"\n',
    )
    (folder / ".env").write_text("MY_42C_KEY=api_from_dotenv\nAPIINV_CEQUENCE_CLIENT_ID=cid\n")
    loaded = config.load(folder)
    assert loaded.tools["42crunch"].credentials["api_key"] == "api_from_dotenv"
    assert loaded.tools["cequence"].missing_vars == ["APIINV_CEQUENCE_CLIENT_SECRET"]
    monkeypatch.setenv("MY_42C_KEY", "api_from_environment")
    assert config.load(folder).tools["42crunch"].credentials["api_key"] == "api_from_environment"


def test_yaml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    folder = write(tmp_path / "c", planner="schedules:\n  daily:\n    cron: [unclosed\n", tools="{}\n")
    found = problems(folder)
    assert any(p.startswith(f"{folder / 'planner.yaml'}: line ") and "column" in p for p in found), found


@pytest.mark.parametrize(
    "content, message",
    [(None, "file not found"), ("", "file is empty"), ("# only a comment\n", "file is empty")],
)
def test_missing_or_empty_file_says_so(tmp_path: Path, content: str | None, message: str) -> None:
    folder = write(tmp_path / "c", planner='schedules:\n  s:\n    cron: "0 1 * * *"\n', tools=content)
    assert f"{folder / 'tools.yaml'}: {message}" in problems(folder)


def test_hostile_names_are_refused(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  "x; rm -rf ~":\n    cron: "0 1 * * *"\n',
        tools='kong:\n  api_base_url: "http://127.0.0.1:8001"\n',
    )
    assert any("invalid name" in p for p in problems(folder))


def test_select_tools(plan_dir: Path) -> None:
    loaded = config.load(plan_dir)
    assert [t.name for t in loaded.select(["all"])] == ["cequence", "42crunch", "apigee"]
    assert [t.name for t in loaded.select(["apigee", "cequence"])] == ["apigee", "cequence"]
    with pytest.raises(UsageError, match="unknown tool 'apigge'; did you mean 'apigee'"):
        loaded.select(["apigge"])


def test_packaged_schemas_are_valid_json_schemas() -> None:
    from jsonschema import Draft202012Validator

    for name in ("planner", "tools"):
        Draft202012Validator.check_schema(config.schema(name))


def test_every_registered_source_follows_the_contract() -> None:
    from apiinv import registry
    from apiinv.sources.base import ROLES

    for tool_type in registry.known_types():
        source = registry.load(tool_type)
        assert source.name == tool_type
        # A fixed role, or (the rest source) one each tool chooses in its settings.
        assert source.role in ROLES or (source.role is None and "role" in source.settings_schema), tool_type


def test_a_source_module_without_its_source_object_is_named(tmp_path: Path, monkeypatch) -> None:
    """A plugin written to the old contract (module constants and functions) is refused by name."""
    from apiinv import registry

    (tmp_path / "old_style.py").write_text('ROLE = "traffic"\ndef fetch(ctx):\n    return {}\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.BUILT_IN, "old", "old_style")
    registry.modules.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"tool type 'old': module old_style must export SOURCE"):
            registry.load("old")
    finally:
        monkeypatch.undo()
        registry.modules.cache_clear()


def test_an_unknown_tool_type_suggests_the_near_one(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  n:\n    cron: "0 2 * * *"\n',
        tools="edge:\n  type: kongg\n  api_base_url: http://127.0.0.1:8001\n",
    )
    assert any("unknown tool type 'kongg'; did you mean 'kong'?" in p for p in problems(folder))


def test_a_plugin_registered_under_the_entry_point_group_is_a_source(tmp_path: Path, monkeypatch) -> None:
    """A third-party package: one module and an entry point, found like any installed distribution."""
    from apiinv import registry

    (tmp_path / "acme_traffic.py").write_text(
        "import dataclasses\n"
        "from apiinv.sources.cequence import SOURCE as CEQUENCE\n"
        'SOURCE = dataclasses.replace(CEQUENCE, name="acme")\n'
    )
    info = tmp_path / "acme_traffic-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-traffic\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[apiinv.sources]\nacme = acme_traffic\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.modules.cache_clear()
    try:
        assert "acme" in registry.known_types() and registry.role_of("acme") == "traffic"
        folder = write(
            tmp_path / "c",
            planner='schedules:\n  n:\n    cron: "0 2 * * *"\n',
            tools="probe:\n  type: acme\n  api_base_url: https://acme.example\n  auth_type: none\n",
        )
        loaded, report = config.validate(folder)
        assert report.problems == [] and loaded is not None
        assert (loaded.tools["probe"].type, loaded.tools["probe"].role) == ("acme", "traffic")
    finally:
        registry.modules.cache_clear()


def test_a_sources_own_settings_are_checked_by_validate_config(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  n:\n    cron: "0 2 * * *"\n',
        tools="cequence:\n  api_base_url: https://acme.example\n  token_url: https://acme.example/t\n"
        "  pagination: {strategy: offest}\n  fields: {hots: host}\n",
    )
    found = problems(folder)
    assert any("cequence.pagination.strategy: unknown 'offest'; did you mean 'offset'?" in p for p in found)
    assert any("cequence.fields: unknown meaning(s) hots" in p for p in found)


def test_identifiers_are_held_whole_not_up_to_a_trailing_newline(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  n:\n    cron: "0 2 * * *"\n',
        tools="kong:\n  api_base_url: http://127.0.0.1:8001\n  auth_type: api_key\n"
        '  api_key_header: "Kong-Admin-Token\\n"\n'
        '  credentials: {api_key: "${KONG_TOKEN}\\n"}\n',
    )
    found = "\n".join(problems(folder))
    assert "kong.api_key_header: 'Kong-Admin-Token\\n' must be a header name" in found
    assert "kong.credentials.api_key: must name an environment variable as ${VAR}" in found


def test_each_source_takes_its_own_keys_and_no_others(tmp_path: Path) -> None:
    """Settings schemas live with their sources: Apigee's organization is unknown to Kong, and a typo is
    named with the nearest key that source does take."""
    folder = write(
        tmp_path / "c",
        planner='schedules:\n  n:\n    cron: "0 2 * * *"\n',
        tools="kong:\n  api_base_url: https://kong.example\n  organization: acme\n  workspace: [a]\n"
        "apigee:\n  api_base_url: https://apigee.googleapis.com\n  organization: 5\n  rate_limt: 3\n"
        "gw2:\n  type: kong\n",
    )
    found = problems(folder)
    assert any(p.endswith("kong.organization: unknown key") for p in found), found
    assert any(p.endswith("kong.workspace: unknown key; did you mean 'workspaces'?") for p in found)
    assert any(p.endswith("apigee.rate_limt: unknown key; did you mean 'rate_limit'?") for p in found)
    assert any(p.endswith("apigee.organization: 5 is not of type 'string'") for p in found)
    assert any(p.endswith("gw2: api_base_url is required (the kong API's base URL)") for p in found)


def test_tool_deadline_is_read_defaulted_and_validated(tmp_path: Path) -> None:
    planner = 'schedules:\n  s:\n    cron: "0 1 * * *"\n'
    tools = 'kong:\n  api_base_url: "https://kong.example"\n  tool_deadline: 900\n'
    tools += 'kong-eu:\n  type: kong\n  api_base_url: "https://kong-eu.example"\n'
    loaded, report = config.validate(write(tmp_path / "ok", planner, tools))
    assert loaded is not None, report.problems
    assert loaded.tools["kong"].tool_deadline == 900
    assert loaded.tools["kong-eu"].tool_deadline == 3600  # generous by default
    bad = write(
        tmp_path / "bad", planner, 'kong:\n  api_base_url: "https://kong.example"\n  tool_deadline: 0\n'
    )
    assert any("kong.tool_deadline" in problem for problem in problems(bad))


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("key", ["request_deadline", "tool_deadline", "timeout", "max_response_mb"])
def test_a_limit_that_is_no_finite_number_is_refused(tmp_path: Path, key: str, value: str) -> None:
    planner = 'schedules:\n  s:\n    cron: "0 1 * * *"\n'
    tools = f'kong:\n  api_base_url: "https://kong.example"\n  {key}: {value}\n'
    assert any(f"kong.{key}" in problem for problem in problems(write(tmp_path, planner, tools)))
