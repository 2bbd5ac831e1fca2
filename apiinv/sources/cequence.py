"""Cequence Unified API Protection: the endpoints seen in traffic, as the ``rest`` source with
Cequence's defaults.

Cequence does not publish its inventory API, so the paths, the pagination and the field names are the
defaults below (which the bundled simulator serves); a customer overrides any of them from their
tenant's API reference in tools.yaml, exactly as for a ``rest`` tool (see ``sources/rest.py``):

    cequence:
      endpoints: {inventory: /apisec/api/v1/endpoints, hosts: /apisec/api/v1/hosts}
      pagination: {strategy: offset, items_key: items, total_key: total, size_param: limit}
      fields: {host: host, method: method, path: path, auth_type: meta.auth.types, ...}

A mapped field found in no item is a warning in the manifest; the hosts listing is optional (set it to
null to skip it): when it fails, that is a warning too, since no record depends on it.
"""

from __future__ import annotations

from apiinv.sources.rest import SETTINGS_SCHEMA as REST_SETTINGS
from apiinv.sources.rest import RestProfile

PROFILE = RestProfile(
    vendor="cequence",
    role="traffic",
    endpoints={"inventory": "/apisec/api/v1/endpoints", "hosts": "/apisec/api/v1/hosts"},
    pagination={"strategy": "offset", "items_key": "items", "total_key": "total"},
    fields={
        "id": "id",
        "host": "host",
        "method": "method",
        "path": "path",
        "active": "active",
        "transactions": "transactionCount",
        "risk_score": "riskScore",
        "risk_level": "riskLevel",
        "sensitive_data": "sensitiveDataTypes",
        "authenticated": "authenticated",
        "auth_type": "authType",
        "access_type": "accessType",
        "api_name": "apiName",
        "first_seen": "firstSeen",
        "last_seen": "lastSeen",
    },
)
SOURCE = PROFILE.source(
    "cequence",
    defaults={"auth_type": "oauth", "page_size": 500},
    # Cequence's role and records' tool name are fixed: the rest source's other settings all apply.
    settings_schema={k: v for k, v in REST_SETTINGS.items() if k not in ("role", "vendor")},
    simulator="apiinv.sandbox.cequence",
)
