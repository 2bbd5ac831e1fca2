"""Each gateway family's routing rules, one module per family, and which module decides for a record.

A record names the source that wrote it in ``tool`` (the ``name`` of that source's ``SOURCE``:
apiinv/sources/kong.py, aws_apigateway.py, apigee.py); any other tool's entries (a spec's operations,
a declarative ``rest`` gateway's paths and prefixes) are read as OpenAPI paths and base paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from apiinv.analysis.routers import apigee, aws, kong, openapi

ROUTERS: dict[str, ModuleType] = {"kong": kong, "aws_apigateway": aws, "apigee": apigee}


def router_of(record: Mapping[str, Any]) -> ModuleType:
    """The module whose rules say what the record's entry serves."""
    return ROUTERS.get(record.get("tool") or "", openapi)
