"""Cequence Unified API Protection: the endpoints seen in traffic, as the ``rest`` source with
Cequence's defaults.

Cequence does not publish its inventory API, so the paths, the pagination and the field names are the
defaults of ``apiinv/presets/cequence.yaml`` (which the bundled simulator serves); a customer overrides
any of them from their tenant's API reference in tools.yaml, exactly as for a ``rest`` tool
(see ``sources/rest.py``):

    cequence:
      endpoints: {inventory: /apisec/api/v1/endpoints, hosts: /apisec/api/v1/hosts}
      pagination: {strategy: offset, items_key: items, total_key: total, size_param: limit}
      fields: {host: host, method: method, path: path, auth_type: meta.auth.types, ...}

A mapped field found in no item is a warning in the manifest; the hosts listing is optional (set it to
null to skip it): when it fails, that is a warning too, since no record depends on it.
"""

from __future__ import annotations

from apiinv.presets import preset
from apiinv.sources.rest import SETTINGS_SCHEMA as REST_SETTINGS
from apiinv.sources.rest import RestProfile

# One description of Cequence: the ``cequence`` preset, so `type: rest, preset: cequence` is this type.
_PRESET = preset("cequence")
PROFILE = RestProfile(
    vendor=_PRESET["vendor"],
    role=_PRESET["role"],
    endpoints=_PRESET["endpoints"],
    pagination=_PRESET["pagination"],
    fields=_PRESET["fields"],
)
SOURCE = PROFILE.source(
    "cequence",
    defaults={"auth_type": _PRESET["auth_type"], "page_size": _PRESET["page_size"]},
    # Cequence's role and records' tool name are fixed (and it is a preset already): the rest source's
    # other settings all apply.
    settings_schema={k: v for k, v in REST_SETTINGS.items() if k not in ("role", "vendor", "preset")},
    simulator="apiinv.sandbox.cequence",
)
