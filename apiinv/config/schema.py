"""The packaged JSON Schemas and their errors in words a person reads."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apiinv.errors import did_you_mean
from apiinv.schemas import packaged as schema

_SCHEMA_ENV_REF = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"  # tools.schema.json $defs.envref


# The packaged schemas' patterns, in words: a person reads "must be an http(s) URL", not a regex.
PATTERN_WORDS = {
    r"^(https?://[^\s/]+[^\s]*|\$\{[A-Za-z_][A-Za-z0-9_]*\})$": "must be an http(s) URL or ${VAR}",
    r"^(https?://\S+|\$\{[A-Za-z_][A-Za-z0-9_]*\})$": "must be an http(s) URL or ${VAR}",
    r"^[A-Za-z0-9-]+$": "must be a header name: letters, digits and '-' only",
    r"^[^@\s]+@[^@\s]+$": "must be an e-mail address",
    r"\.prom$": "must end in .prom (node_exporter's textfile collector reads no other file)",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$": "must be a name: letters, digits, '_', '.' and '-' (64 at most)",
}


def _format_path(parts: list[Any] | Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@cache
def _strict_validator(schema_name: str) -> Any:
    return strict_validator(schema(schema_name))


def strict_validator(document: dict[str, Any]) -> Any:
    """A validator whose patterns mean what they say: in JSON Schema (ECMA) a final ``$`` is the end of
    the string, in Python's re it also matches before a final newline, which would let ``kong\n`` pass
    as a name and ``${VAR}\n`` as a reference."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, regex: str, instance: Any, _schema: Any) -> Any:
        if not validator.is_type(instance, "string"):
            return
        strict = regex[:-1] + r"\Z" if regex.endswith("$") and not regex.endswith("\\$") else regex
        if not re.search(strict, instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})(document)


def schema_problems(
    document: Any, schema_name: str, file_label: str, *, validator: Any = None, at: tuple[Any, ...] = ()
) -> list[str]:
    """Every error of ``document`` against a packaged schema (or ``validator``), in words, each with its
    path in the file (``at`` is where ``document`` sits in it)."""
    validator = validator or _strict_validator(schema_name)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        path = [*at, *error.absolute_path]
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - allowed, key=str):
                problems.append(
                    f"{file_label}: {_format_path([*path, key])}: unknown key{did_you_mean(key, allowed)}"
                )
            continue
        if "propertyNames" in error.schema_path:
            problems.append(
                f"{file_label}: {_format_path(path)}: invalid name {error.instance!r}: "
                "letters, digits, '_', '.' and '-' only"
            )
            continue
        if error.validator == "pattern" and error.schema.get("pattern") in PATTERN_WORDS:
            problems.append(
                f"{file_label}: {_format_path(path)}: {error.instance!r} "
                f"{PATTERN_WORDS[error.schema['pattern']]}"
            )
            continue
        if error.validator == "anyOf" and error.schema.get("anyOf", [{}])[0].get("required") == ["cron"]:
            problems.append(f"{file_label}: {_format_path(path)}: cron (or cron_expression) is required")
            continue
        if error.validator == "pattern" and error.schema.get("pattern") == _SCHEMA_ENV_REF:
            problems.append(
                f"{file_label}: {_format_path(path)}: must name an environment variable as ${{VAR}};"
                " secrets never live in YAML"
            )
            continue
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        problems.append(f"{file_label}: {_format_path(path)}: {message}")
    return problems
