"""The registry of sources: one module per tool type, each with the same small surface.

A source module defines
- ``DEFAULTS``: tools.yaml values its vendor implies (auth kind, key header, page size, ...);
- ``RAW_SHAPE``: the top-level keys (and their types) of the raw document its ``fetch`` returns;
- ``fetch(ctx) -> dict``: the tool's raw inventory, fetched through ``ctx.client`` (the shared HTTP
  client) with independent requests submitted to ``ctx.map``;
- ``normalize(raw) -> list[dict]``: pure, raw document to inventory records.

Modules are imported on first use, so listing tools or printing --help costs no vendor code.
"""

from __future__ import annotations

import importlib
from types import ModuleType

REGISTRY: dict[str, str] = {
    "42crunch": "apiinv.sources.crunch42",
    "apigee": "apiinv.sources.apigee",
    "cequence": "apiinv.sources.cequence",
    "kong": "apiinv.sources.kong",
}


def known_types() -> list[str]:
    return sorted(REGISTRY)


def load(tool_type: str) -> ModuleType:
    try:
        module_name = REGISTRY[tool_type]
    except KeyError:
        raise KeyError(f"unknown tool type {tool_type!r} (known: {', '.join(known_types())})") from None
    return importlib.import_module(module_name)
