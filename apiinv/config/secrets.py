"""Secrets: the environment over .env, ${VAR} references, and the variable a credential defaults to."""

from __future__ import annotations

import os
import re
from pathlib import Path

from apiinv.errors import ConfigurationError

SECRET_FIELDS = frozenset(
    {"api_key", "token", "password", "client_secret", "secret_access_key", "session_token"}
)


ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # used with fullmatch: no "${X}\n"


def load_env(env_file: Path | None) -> dict[str, str]:
    """The process environment over the .env file: a variable set for real wins over the file."""
    values: dict[str, str] = {}
    if env_file is not None:
        if not env_file.is_file():
            raise ConfigurationError(f"{env_file}: env file not found")
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def default_env_file(config_dir: Path) -> Path | None:
    for candidate in (config_dir / ".env", Path(".env")):
        if candidate.is_file():
            return candidate
    return None


def env_var_name(tool_name: str, field_name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", f"APIINV_{tool_name}_{field_name}".upper())


def expand(value: str, env: dict[str, str]) -> tuple[str | None, str | None]:
    """(value, variable name) of a possibly ${VAR} string; value None when the variable is unset."""
    match = ENV_REF.fullmatch(value)
    if not match:
        return value, None
    var = match.group(1)
    return env.get(var) or None, var
