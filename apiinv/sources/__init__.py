"""The registry of sources: one module per tool type, each following the contract in ``base.py``.

Built-in sources live here; third-party ones register a module under the ``apiinv.sources``
entry-point group (``[project.entry-points."apiinv.sources"] salt = "apiinv_salt"``) and are found the
same way. Modules are imported on first use, so listing tools or printing --help costs no vendor code.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from apiinv.errors import ConfigurationError

BUILT_IN: dict[str, str] = {
    "42crunch": "apiinv.sources.crunch42",
    "apigee": "apiinv.sources.apigee",
    "aws_apigateway": "apiinv.sources.aws_apigateway",
    "cequence": "apiinv.sources.cequence",
    "kong": "apiinv.sources.kong",
    "openapi_specs": "apiinv.sources.openapi_specs",
    "rest": "apiinv.sources.rest",
}


@cache
def registry() -> dict[str, str]:
    """Tool type -> module: the built-in sources and every installed plugin."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN)
    for entry in entry_points(group="apiinv.sources"):
        found.setdefault(entry.name, entry.value)
    return found


def known_types() -> list[str]:
    return sorted(registry())


def load(tool_type: str) -> ModuleType:
    try:
        module_name = registry()[tool_type]
    except KeyError:
        from apiinv.config import did_you_mean

        raise ConfigurationError(
            f"unknown tool type {tool_type!r}{did_you_mean(tool_type, registry())} "
            f"(known: {', '.join(known_types())})"
        ) from None
    return importlib.import_module(module_name)


@cache
def role_of(tool_type: str) -> str:
    """The role (gateway, spec, traffic) its source declares; ``other`` for a type no source knows or
    whose tools each choose one (``rest``: see ``role_for``)."""
    try:
        return str(getattr(load(tool_type), "ROLE", None) or "other")
    except ConfigurationError:
        return "other"


def role_for(tool_type: str, settings: dict[str, object] | None = None) -> str:
    """A configured tool's role: what its source declares, else what its settings choose (``role:``)."""
    try:
        declared = getattr(load(tool_type), "ROLE", None)
    except ConfigurationError:
        return "other"
    return str(declared or (settings or {}).get("role") or "other")
