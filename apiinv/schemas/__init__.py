"""The packaged JSON Schemas (tools.yaml, planner.yaml, an inventory record, the report), read here at
the bottom of the package so that the record model and the configuration both use them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def packaged(name: str) -> dict[str, Any]:
    """The schema ``NAME.schema.json``."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))
