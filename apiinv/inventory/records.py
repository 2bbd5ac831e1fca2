"""The inventory record: building one (key and URL derived, defaults filled) and validating many."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apiinv.inventory.keys import endpoint_key, join_path, normalize_host, normalize_method

FIELDS = (
    "tool",
    "instance",
    "collected_at",
    "api_id",
    "api_name",
    "collection",
    "environment",
    "host",
    "base_path",
    "method",
    "path",
    "url",
    "endpoint_key",
    "path_match",
    "auth_required",
    "auth_types",
    "sensitive_data",
    "risk_score",
    "risk_level",
    "audit_score",
    "audit_issues",
    "audit_date",
    "scan_state",
    "scan_issues",
    "first_seen",
    "last_seen",
    "last_modified",
    "status",
    "tags",
    "products",
    "owner",
)
_DEFAULTS: dict[str, Any] = {
    "collection": None,
    "environment": None,
    "auth_required": None,
    "risk_score": None,
    "risk_level": None,
    "audit_score": None,
    "audit_issues": None,
    "audit_date": None,
    "scan_state": None,
    "scan_issues": None,
    "first_seen": None,
    "last_seen": None,
    "last_modified": None,
    "owner": None,
}
RISK_LEVELS = ("critical", "high", "medium", "low", "info")
# Characters no spreadsheet cell (and no XML) may hold: removed from vendor text where it is written.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else {}: vendors drop and retype fields over time."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return None if isinstance(value, dict | list) else str(value)


def make_record(
    *,
    tool: str,
    instance: str,
    collected_at: str | None,
    api_id: Any,
    api_name: str | None,
    host: str | None,
    base_path: str | None,
    method: str | None,
    path: str | None,
    status: str,
    scheme: str = "https",
    path_match: str = "exact",
    **optional: Any,
) -> dict[str, Any]:
    host_text = (as_text(host) or "").strip()
    base_path, path, method = as_text(base_path), as_text(path), as_text(method)
    full_path = join_path(base_path, path)
    record = {
        **_DEFAULTS,
        "tool": tool,
        "instance": instance,
        "collected_at": collected_at,
        "api_id": str(api_id) if api_id is not None else "",
        "api_name": api_name,
        "host": host_text,
        "base_path": base_path or "",
        "method": normalize_method(method),
        "path": path or "",
        "url": f"{scheme}://{normalize_host(host_text)}{full_path}" if host_text else full_path,
        "endpoint_key": endpoint_key(method, host_text, base_path, path),
        "path_match": path_match,
        "auth_types": [],
        "sensitive_data": [],
        "status": status,
        "tags": [],
        "products": [],
    }
    record.update(optional)
    return {name: record[name] for name in FIELDS}


def risk_level(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if text in RISK_LEVELS else None


@cache
def _validators():
    """(fast check, full report): fastjsonschema compiles the schema to code, about 30x quicker than
    jsonschema per record; jsonschema then names every reason for the rare invalid record."""
    import fastjsonschema
    from jsonschema import Draft202012Validator

    from apiinv.config import schema

    return fastjsonschema.compile(schema("record")), Draft202012Validator(schema("record"))


def problems(record: dict[str, Any]) -> list[str]:
    """Why a record is invalid ([] when it is valid)."""
    import fastjsonschema

    fast, full = _validators()
    try:
        fast(record)
        return []
    except fastjsonschema.JsonSchemaValueException:
        return [
            f"{'.'.join(map(str, e.absolute_path)) or '(record)'}: {e.message[:160]}"
            for e in full.iter_errors(record)
        ]
