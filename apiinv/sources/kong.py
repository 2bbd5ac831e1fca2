"""Kong Gateway Admin API: services, routes and plugins, optionally per workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "none", "api_key_header": "Kong-Admin-Token", "page_size": 1000}


def check(client: HttpClient, tool: ToolConfig) -> str:
    document = client.get_json("/")
    return f"Kong {document.get('version', '?')}"
