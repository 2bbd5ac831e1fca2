"""Field mappings of configuration-driven sources: which field of a vendor's item holds what we need.

A mapping value is a dotted path into the item (``meta.auth.types``); a path step into a list maps over
it (``auth.schemes.name`` on ``{"auth": {"schemes": [{"name": "jwt"}, ...]}}`` gives ``["jwt", ...]``).
Values keep their shape: a list stays a list, so list-valued fields (authentication types, sensitive
data types) are never lost. Shared by the Cequence adapter and any other JSON-listing source.
"""

from __future__ import annotations

from typing import Any

_ABSENT = object()


def pick(item: Any, dotted: str) -> Any:
    """The value at ``dotted`` in ``item``; None when any step is missing."""
    value = _pick(item, dotted.split(".")) if dotted else item
    return None if value is _ABSENT else value


def _pick(value: Any, steps: list[str]) -> Any:
    for index, step in enumerate(steps):
        if isinstance(value, list):
            found = [_pick(element, steps[index:]) for element in value]
            kept = [v for v in found if v is not _ABSENT]
            return [x for v in kept for x in (v if isinstance(v, list) else [v])] if kept else _ABSENT
        if not isinstance(value, dict) or step not in value:
            return _ABSENT
        value = value[step]
    return value


def as_strings(value: Any) -> list[str]:
    """A list-or-scalar field as a list of non-empty strings (a comma-separated string splits)."""
    if value is None or isinstance(value, dict):
        return []
    values = value if isinstance(value, list) else str(value).split(",")
    return [text for v in values if v is not None and not isinstance(v, dict) if (text := str(v).strip())]
