"""42Crunch API Security Platform: collections, their APIs, each API's spec, audit and scan."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "api_key", "api_key_header": "X-API-KEY", "page_size": 0}


def check(client: HttpClient, tool: ToolConfig) -> str:
    document = client.get_json("/api/v2/collections", params={"listOption": "ALL", "perPage": 0})
    return f"{len(document.get('list') or [])} collections visible"
