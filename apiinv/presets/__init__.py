"""Vendor descriptions for the ``rest`` source, shipped as data: one YAML file per vendor in this folder.

A tools.yaml entry says ``preset: NAME`` and gives only what is its own (the base URL, the credentials,
anything it wants otherwise); the preset fills in the rest, key by key (``with_preset``). A preset file
holds the keys of a ``rest`` entry (role, vendor, auth, endpoints, pagination, fields) and is checked
like any entry once merged, and a ``summary`` (what it lists, one line) that ``apiinv tools`` shows.
Adding a vendor is adding ``NAME.yaml`` here: nothing else lists them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from apiinv.errors import ConfigurationError, did_you_mean

MAX_NODES = 10_000  # a preset is a few hundred nodes
SUMMARY = "summary"  # a preset's own key: what it lists, for people; never part of the entry


@cache
def known() -> tuple[str, ...]:
    """The names of the shipped presets."""
    folder = resources.files(__name__)
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


@cache
def _load(name: str) -> dict[str, Any]:
    from apiinv.bounds import safe_load

    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    document = safe_load(text, max_nodes=MAX_NODES)
    if not isinstance(document, dict):
        raise ConfigurationError(f"preset {name}: its file holds no mapping")  # a packaging mistake
    return document


def preset(name: Any) -> dict[str, Any]:
    """The entry keys preset ``name`` gives (a fresh copy); an unknown name is a ConfigurationError naming
    the known ones."""
    names = known()
    if not isinstance(name, str) or name not in names:
        raise ConfigurationError(
            f"unknown preset {name!r}{did_you_mean(str(name), names)} (known: {', '.join(names)})"
        )
    return merged({k: v for k, v in _load(name).items() if k != SUMMARY}, {})


def described() -> list[dict[str, str]]:
    """One row per shipped preset: its name, role and summary (the vendor's product and what it lists)."""
    return [
        {
            "preset": name,
            "role": str(_load(name).get("role", "")),
            "lists": str(_load(name).get(SUMMARY, "")),
        }
        for name in known()
    ]


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, key by key: mappings merge all the way down, anything else (a list, a
    value, a null that drops a listing) replaces what the base had."""
    result = {key: merged(value, {}) if isinstance(value, dict) else value for key, value in base.items()}
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = merged(value, {}) if isinstance(value, dict) else value
    return result


def with_preset(entry: dict[str, Any]) -> dict[str, Any]:
    """A tools.yaml entry with its preset's keys under its own (the entry unchanged without one). The
    ``preset`` key stays, so the tool says where its description came from."""
    if "preset" not in entry:
        return entry
    return merged(preset(entry["preset"]), entry)
