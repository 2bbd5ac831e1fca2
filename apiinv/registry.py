"""The registry of sources: tool type -> its ``Source`` (the contract is in ``apiinv/sources/base.py``).

Built-in sources live in ``apiinv/sources/``; third-party ones register a module exporting ``SOURCE``
under the ``apiinv.sources`` entry-point group (``[project.entry-points."apiinv.sources"] salt =
"apiinv_salt"``) and are found the same way. Modules are imported on first use, so listing tools or
printing --help costs no vendor code. It sits below the configuration, which resolves each tool's
source once, when it is read.
"""

from __future__ import annotations

import importlib
from functools import cache

from apiinv.errors import ConfigurationError, did_you_mean
from apiinv.sources.base import Source

ENTRY_POINTS = "apiinv.sources"
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
def modules() -> dict[str, str]:
    """Tool type -> module: the built-in sources and every installed plugin."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINTS):
        found.setdefault(entry.name, entry.value)
    return found


def known_types() -> list[str]:
    return sorted(modules())


def load(tool_type: str) -> Source:
    """The source of a tool type; a ConfigurationError naming the type when none is, or when its module
    does not export a ``SOURCE`` of that name."""
    try:
        module_name = modules()[tool_type]
    except KeyError:
        raise ConfigurationError(
            f"unknown tool type {tool_type!r}{did_you_mean(tool_type, modules())} "
            f"(known: {', '.join(known_types())})"
        ) from None
    try:
        source = importlib.import_module(module_name).SOURCE
    except AttributeError:
        source = None
    if not isinstance(source, Source) or source.name != tool_type:
        raise ConfigurationError(
            f"tool type {tool_type!r}: module {module_name} must export SOURCE = "
            f"apiinv.sources.base.Source(name={tool_type!r}, ...)"
        )
    return source


def role_of(tool_type: str) -> str:
    """The role a tool type's source declares, for data whose tool is no longer configured; ``other``
    for a type no source knows or whose tools each choose one (``rest``)."""
    try:
        return load(tool_type).role or "other"
    except ConfigurationError:
        return "other"
