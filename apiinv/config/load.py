"""planner.yaml and tools.yaml read, validated against the schemas, checked for meaning, and turned into
the model. Every problem of a file is collected, so one run names them all."""

from __future__ import annotations

import math
import os
import zoneinfo
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apiinv import presets, registry
from apiinv.config.model import (
    _COMMON_KEYS,
    AUTH_FIELDS,
    JOB_TYPE_ACTIONS,
    NAME,
    OWNERS_KEY,
    PLANNER_FILE,
    RESERVED_TOOL_NAMES,
    TOOL_DEFAULTS,
    TOOLS_FILE,
    Analysis,
    Config,
    Delivery,
    Planner,
    Schedule,
    ToolConfig,
    Validation,
)
from apiinv.config.schema import schema, schema_problems, strict_validator
from apiinv.config.secrets import ENV_REF, SECRET_FIELDS, default_env_file, env_var_name, expand, load_env
from apiinv.cron import problem as cron_problem
from apiinv.errors import ConfigurationError, did_you_mean
from apiinv.redact import register_secret

if TYPE_CHECKING:
    from apiinv.sources.base import Source

CONFIG_MAX_NODES = 100_000  # a configuration file is a few hundred nodes; aliases may not blow it up


def read_yaml(path: Path) -> Any:
    """The document of a YAML file, or a ConfigurationError that names the file (and line, column)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc}") from None
    from apiinv.bounds import YamlTooLargeError, safe_load

    try:
        document = safe_load(text, max_nodes=CONFIG_MAX_NODES)
    except YamlTooLargeError as exc:
        raise ConfigurationError(f"{path}: refused: the document {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigurationError(f"{path}: {where}YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: YAML error: {exc}") from None
    if document is None:
        raise ConfigurationError(f"{path}: file is empty")
    return document


def _without_userinfo(url: str, where: str, report: Validation) -> str:
    """A URL with ``user:password@`` is refused (and its parts masked): it would reach logs and caches."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if ":" in userinfo:  # the password is the secret; a user name alone is not worth masking everywhere
        register_secret(userinfo)
        register_secret(userinfo.split(":", 1)[1])
    report.problems.append(
        f"{where}: credentials in the URL are not allowed; use auth_type basic with "
        "credentials from the environment"
    )
    return urlunsplit(parts._replace(netloc=hostport))


def _build_tool(
    name: str, entry: dict[str, Any], env: dict[str, str], config_dir: Path, label: str, report: Validation
) -> ToolConfig | None:
    where = f"{label}: {name}"
    # A preset describes a rest tool, so naming one is enough to say the type.
    tool_type = entry.get("type", "rest" if "preset" in entry else name)
    try:
        source = registry.load(tool_type)
    except ConfigurationError as exc:
        hint = "" if "type" in entry else "; set type: to one of them"
        report.problems.append(f"{where}.type: {exc.message}{hint}")
        return None
    if "preset" in source.settings_schema:
        try:
            entry = presets.with_preset(entry)
        except ConfigurationError as exc:
            report.problems.append(f"{where}.preset: {exc.message}")
            return None
    report.problems.extend(
        schema_problems(entry, "tools", label, validator=_settings_validator(tool_type), at=(name,))
    )
    # YAML's .nan and .inf are numbers to the schema, and no limit or deadline of a tool.
    report.problems.extend(
        f"{where}.{key}: {value!r} is not a finite number"
        for key, value in entry.items()
        if isinstance(value, float) and not math.isfinite(value)
    )
    if source.base_url and "api_base_url" not in entry:
        report.problems.append(f"{where}: api_base_url is required (the {tool_type} API's base URL)")
        return None
    merged = _with_defaults(entry, source, config_dir)
    missing_settings = _settings_checked(merged, source, tool_type, where, report)
    base_url = _base_url(entry, env, where, report)
    token_url = _token_url(merged, env, where, report, missing_settings)
    auth_type = merged["auth_type"]
    credentials, credential_vars = _credentials(name, entry, AUTH_FIELDS[auth_type], env, where, report)
    missing = _missing_credentials(auth_type, credentials, credential_vars)
    if missing:
        report.warnings.append(
            f"{where}: credentials not set: {', '.join(missing)} (needed before collecting)"
        )
    _check_key_file(credentials, config_dir, where, report)
    verify = _tls_verify(merged, config_dir, where, report)

    return ToolConfig(
        name=name,
        type=tool_type,
        base_url=base_url.rstrip("/"),
        auth_type=auth_type,
        enabled=bool(merged["enabled"]),
        rate_limit=merged["rate_limit"],
        timeout=float(merged["timeout"]),
        request_deadline=float(merged["request_deadline"]),
        tool_deadline=float(merged["tool_deadline"]),
        max_response_mb=float(merged["max_response_mb"]),
        allowed_hosts=[str(h) for h in merged["allowed_hosts"]],
        max_retries=int(merged["max_retries"]),
        max_retry_wait=float(merged["max_retry_wait"]),
        retry_after_cap=float(merged["retry_after_cap"]),
        retry_backoff=float(merged["retry_backoff"]),
        page_size=int(merged["page_size"]),
        max_pages=int(merged["max_pages"]),
        verify=verify,
        cache_ttl=int(merged["cache_ttl"]),
        concurrency=int(merged["concurrency"]),
        api_key_header=merged["api_key_header"],
        token_url=token_url or None,
        scope=merged.get("scope"),
        description=merged.get("description", ""),
        credentials=credentials,
        credential_vars=credential_vars,
        missing_vars=missing,
        missing_settings=missing_settings,
        settings={k: v for k, v in merged.items() if k not in _COMMON_KEYS},
    )


def _with_defaults(entry: dict[str, Any], source: Source, config_dir: Path) -> dict[str, Any]:
    """A tool's settings over its source's defaults over every tool's; the files it reads resolved."""
    merged = {**TOOL_DEFAULTS, **source.defaults, **entry}
    for setting in source.path_settings:  # files a source reads: relative to this folder
        if isinstance(merged.get(setting), list):
            merged[setting] = [str(_under(config_dir, str(p))) for p in merged[setting]]
    return merged


def _settings_checked(
    merged: dict[str, Any], source: Source, tool_type: str, where: str, report: Validation
) -> list[str]:
    """The source's own settings checked: its problems reported, and the required ones not set."""
    missing_settings = [s for s in source.required_settings if not merged.get(s)]
    for problem in source.settings_problems(merged):
        report.problems.append(f"{where}.{problem}")
    for setting in missing_settings:
        report.warnings.append(f"{where}.{setting}: not set (needed before collecting from {tool_type})")
    return missing_settings


def _base_url(entry: dict[str, Any], env: dict[str, str], where: str, report: Validation) -> str:
    base_url, base_var = expand(entry.get("api_base_url", ""), env)
    if base_url is None:
        report.problems.append(f"{where}.api_base_url: environment variable {base_var} is not set")
        base_url = ""
    return _without_userinfo(base_url, f"{where}.api_base_url", report)


def _token_url(
    merged: dict[str, Any], env: dict[str, str], where: str, report: Validation, missing_settings: list[str]
) -> str | None:
    """The OAuth token URL, expanded; an oauth tool without one is added to ``missing_settings``."""
    token_url = merged.get("token_url")
    if token_url:
        token_url, token_var = expand(token_url, env)
        if token_url is None:
            report.problems.append(f"{where}.token_url: environment variable {token_var} is not set")
    if merged["auth_type"] == "oauth" and not merged.get("token_url"):
        # The plan's own tools.yaml names oauth without a token URL: collecting needs one, scheduling not.
        report.warnings.append(f"{where}.token_url: not set (needed before collecting with oauth)")
        missing_settings.append("token_url")
    if token_url:
        token_url = _without_userinfo(token_url, f"{where}.token_url", report)
    return token_url


def _credentials(
    name: str,
    entry: dict[str, Any],
    wanted: Iterable[str],
    env: dict[str, str],
    where: str,
    report: Validation,
) -> tuple[dict[str, str], dict[str, str]]:
    """(the credentials found, the environment variable each field is read from)."""
    credentials: dict[str, str] = {}
    credential_vars: dict[str, str] = {}
    declared = entry.get("credentials") or {}
    for field_name in sorted(set(wanted) | set(declared)):
        raw = declared.get(field_name)
        if raw is not None and field_name in SECRET_FIELDS and not ENV_REF.fullmatch(str(raw)):
            continue  # a literal secret in YAML: the schema reports it; it is never used
        value, var = _credential_value(name, field_name, raw, env, where, report)
        if var:
            credential_vars[field_name] = var
        if value is None:
            continue
        if field_name in SECRET_FIELDS:
            register_secret(value)
        if value != value.strip():
            # Common with files mounted from secret stores; sent as is, it fails in a way that prints it.
            report.problems.append(
                f"{where}.credentials.{field_name}: {var or 'the value'} has leading or trailing "
                "whitespace or a newline; remove it"
            )
            continue
        credentials[field_name] = value
    return credentials, credential_vars


def _credential_value(
    name: str, field_name: str, raw: Any, env: dict[str, str], where: str, report: Validation
) -> tuple[str | None, str | None]:
    """(the value, the variable it comes from): the one tools.yaml names, else the conventional one."""
    if raw is None:
        conventional = env_var_name(name, field_name)
        return env.get(conventional) or None, conventional
    value, var = expand(raw, env)
    if value is None:
        report.problems.append(f"{where}.credentials.{field_name}: environment variable {var} is not set")
    return value, var


def _missing_credentials(
    auth_type: str, credentials: dict[str, str], credential_vars: dict[str, str]
) -> list[str]:
    """The variables to set before collecting (a service account takes a key file or a token)."""
    if auth_type == "service_account":
        if not credentials.get("key_file") and not credentials.get("token"):
            return [f"{credential_vars['key_file']} or {credential_vars['token']}"]
        return []
    return [credential_vars[f] for f in AUTH_FIELDS[auth_type] if f not in credentials]


def _check_key_file(credentials: dict[str, str], config_dir: Path, where: str, report: Validation) -> None:
    """A key file is taken from the configuration folder when relative, and must exist."""
    key_file = credentials.get("key_file")
    if key_file:
        key_path = _under(config_dir, key_file)
        credentials["key_file"] = str(key_path)
        if not key_path.is_file():
            report.problems.append(f"{where}.credentials.key_file: file not found: {key_path}")


def _tls_verify(merged: dict[str, Any], config_dir: Path, where: str, report: Validation) -> bool | str:
    """requests' verify: the CA bundle's path when one is named (it must exist), else verify_tls."""
    if not merged.get("ca_bundle"):
        return bool(merged["verify_tls"])
    bundle = _under(config_dir, merged["ca_bundle"])
    if not bundle.is_file():
        report.problems.append(f"{where}.ca_bundle: file not found: {bundle}")
    return str(bundle)


def _under(config_dir: Path, path: str) -> Path:
    """A path tools.yaml names: ``~`` expanded, relative ones taken from the configuration folder."""
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else config_dir / expanded


@cache
def _settings_validator(tool_type: str) -> Any:
    """The keys a tool of this type takes: those every tool takes (checked by the packaged schema) and
    its source's own settings schema; any other is an unknown key."""
    own = registry.load(tool_type).settings_schema
    common: dict[str, Any] = {key: {} for key in schema("tools")["$defs"]["tool"]["properties"]}
    return strict_validator(
        {"type": "object", "properties": {**common, **own}, "additionalProperties": False}
    )


def check_tools(
    document: Any, env: dict[str, str], config_dir: Path, label: str, report: Validation
) -> dict[str, ToolConfig]:
    problems = schema_problems(document, "tools", label)
    report.problems.extend(problems)
    if not isinstance(document, dict):
        return {}
    tools = {}
    for name in document:
        if name == OWNERS_KEY or not isinstance(name, str):
            continue
        if NAME.fullmatch(name) and (name.lower() in RESERVED_TOOL_NAMES or name.endswith(".rejects")):
            report.problems.append(
                f"{label}: {name}: reserved name (the combined report's files use it); choose another"
            )
    for name, entry in document.items():
        if (
            name == OWNERS_KEY
            or not isinstance(entry, dict)
            or not isinstance(entry.get("api_base_url", ""), str)
        ):
            continue
        # Meaning is checked even where the schema already objected: every problem in one pass.
        try:
            tool = _build_tool(str(name), entry, env, config_dir, label, report)
        except (TypeError, ValueError, AttributeError, KeyError):
            continue  # a value of the wrong type, which the schema has reported
        if tool is not None:
            tools[tool.name] = tool
    return tools


def check_planner(
    document: Any, tool_names: set[str] | None, label: str, report: Validation
) -> Planner | None:
    problems = schema_problems(document, "planner", label)
    report.problems.extend(problems)
    if not isinstance(document, dict) or not isinstance(document.get("schedules"), dict):
        return None
    timezone = document.get("timezone")
    if isinstance(timezone, str) and timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            report.problems.append(f"{label}: timezone: unknown time zone {timezone!r}")
    defaults = document.get("defaults") or {}
    schedules: dict[str, Schedule] = {}
    for name, entry in document["schedules"].items():
        if not isinstance(entry, dict):
            continue
        schedule = _schedule(name, entry, defaults, tool_names, f"{label}: schedules.{name}", report)
        if schedule is not None:
            schedules[name] = schedule
    if problems:
        return None
    return Planner(
        schedules=schedules,
        timezone=timezone,
        analysis=Analysis(**(document.get("analysis") or {})),
        defaults=Delivery.merged(defaults, {}),
    )


def _schedule(
    name: str,
    entry: dict[str, Any],
    defaults: dict[str, Any],
    tool_names: set[str] | None,
    where: str,
    report: Validation,
) -> Schedule | None:
    """One schedule, its cron, action and tools checked; None when its tools are not a list of names
    (which the schema reports)."""
    cron = _schedule_cron(entry, where, report)
    action = _schedule_action(entry, where, report)
    tools = entry.get("tools") or ["all"]
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        return None
    _check_schedule_tools(tools, tool_names, where, report)
    return Schedule(
        name=name,
        cron=cron,
        tools=tools,
        action=action,
        enabled=entry.get("enabled", True),
        workers=entry.get("workers", defaults.get("workers", 4)),
        formats=entry.get("formats", defaults.get("formats", ["xlsx", "json"])),
        description=entry.get("description", ""),
        delivery=Delivery.merged(defaults, entry),
    )


def _schedule_cron(entry: dict[str, Any], where: str, report: Validation) -> str:
    """The expression of cron (or its other name, cron_expression), checked."""
    cron = str(entry.get("cron", entry.get("cron_expression")) or "")
    if "cron" in entry and "cron_expression" in entry and entry["cron"] != entry["cron_expression"]:
        report.problems.append(f"{where}: cron and cron_expression disagree; give one")
    problem = cron_problem(cron)
    if problem:
        key = "cron" if "cron" in entry else "cron_expression"
        report.problems.append(f"{where}.{key}: {problem}")
    return cron


def _schedule_action(entry: dict[str, Any], where: str, report: Validation) -> str:
    """What the schedule runs: action, or job_type in either vocabulary (collection or collect)."""
    action = entry.get("action")
    job_type = entry.get("job_type") or None
    alias = JOB_TYPE_ACTIONS.get(job_type, job_type) if isinstance(job_type, str) else None
    if action and alias and action != alias:
        report.problems.append(f"{where}: action {action!r} and job_type {entry['job_type']!r} disagree")
    return action or alias or "run"


def _check_schedule_tools(
    tools: list[str], tool_names: set[str] | None, where: str, report: Validation
) -> None:
    """'all' alone, and every other name one tools.yaml has (when tools.yaml was read)."""
    if "all" in tools and len(tools) > 1:
        report.problems.append(f"{where}.tools: 'all' stands alone")
    if tool_names is None:
        return
    for index, tool in enumerate(tools):
        if tool != "all" and tool not in tool_names:
            known = ", ".join(sorted(tool_names)) or "none"
            report.problems.append(
                f"{where}.tools[{index}]: unknown tool {tool!r}{did_you_mean(tool, tool_names)} "
                f"(tools.yaml has: {known})"
            )


def validate(
    config_dir: Path, env_file: Path | None = None, *, require_planner: bool = True
) -> tuple[Config | None, Validation]:
    """Every problem of both files, without raising; the Config only when there is none."""
    report = Validation()
    tools_path, planner_path = config_dir / TOOLS_FILE, config_dir / PLANNER_FILE
    try:
        env = load_env(env_file if env_file is not None else default_env_file(config_dir))
    except ConfigurationError as exc:
        report.problems.append(str(exc))
        env = dict(os.environ)
    tools: dict[str, ToolConfig] = {}
    tool_names: set[str] | None = None
    owners: dict[str, Any] = {}
    try:
        tools_doc = read_yaml(tools_path)
        tools = check_tools(tools_doc, env, config_dir, str(tools_path), report)
        tool_names = {str(k) for k in tools_doc if k != OWNERS_KEY} if isinstance(tools_doc, dict) else None
        owners = tools_doc.get(OWNERS_KEY) or {} if isinstance(tools_doc, dict) else {}
    except ConfigurationError as exc:
        report.problems.append(str(exc))
    planner = None
    if require_planner or planner_path.exists():
        try:
            planner = check_planner(read_yaml(planner_path), tool_names, str(planner_path), report)
        except ConfigurationError as exc:
            report.problems.append(str(exc))
    owners_file = None
    if isinstance(owners, dict) and isinstance(owners.get("file"), str):
        owners_file = _under(config_dir, owners["file"])
        if not owners_file.is_file():
            report.problems.append(f"{tools_path}: owners.file: file not found: {owners_file}")
    if report.problems:
        return None, report
    config = Config(
        config_dir=config_dir,
        tools=tools,
        planner=planner,
        warnings=report.warnings,
        owners_file=owners_file,
        owners_sheet=owners.get("sheet") if isinstance(owners, dict) else None,
    )
    return config, report


def load(config_dir: Path, env_file: Path | None = None, *, require_planner: bool = False) -> Config:
    config, report = validate(config_dir, env_file, require_planner=require_planner)
    if config is None:
        raise ConfigurationError(
            f"invalid configuration in {config_dir} ({len(report.problems)} problem(s))",
            problems=report.problems,
        )
    return config
