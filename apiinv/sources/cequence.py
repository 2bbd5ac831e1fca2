"""Cequence Unified API Protection: the endpoints seen in traffic, configuration-driven."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "oauth", "page_size": 500}
ENDPOINTS = {"inventory": "/apisec/api/v1/endpoints", "hosts": "/apisec/api/v1/hosts"}


def check(client: HttpClient, tool: ToolConfig) -> str:
    path = {**ENDPOINTS, **tool.settings.get("endpoints", {})}["inventory"]
    client.get_json(path, params={"limit": 1})
    return "inventory readable"
