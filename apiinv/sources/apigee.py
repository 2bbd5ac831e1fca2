"""Apigee X / hybrid (and Edge where cheap): proxies, deployments, revisions, environment groups, products."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient

DEFAULTS = {"auth_type": "service_account", "rate_limit": 6000, "page_size": 1000, "flavor": "x"}
REQUIRED_SETTINGS = ("organization",)


def check(client: HttpClient, tool: ToolConfig) -> str:
    org = tool.settings["organization"]
    document = client.get_json(f"/v1/organizations/{org}")
    return f"organization {org}: {len(document.get('environments') or [])} environments"
