"""Bounds on documents from outside: YAML alias expansion and JSON nesting.

A few hundred bytes of nested YAML aliases ("billion laughs") expand to billions of nodes once anything
walks the document: the composed node graph is measured as it would expand, before any Python object is
built, and refused past a limit. A JSON document may nest deeper than orjson can write back: it is
refused when it arrives, as that one document's fault, not when the raw file is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from apiinv.errors import MalformedResponseError

MAX_EXPANDED_NODES = 1_000_000
NESTING_MARGIN = 16


class YamlTooLargeError(ValueError):
    """The document would expand past the node limit (alias bomb)."""


def _expanded_size(root: Any, limit: int) -> int:
    """Nodes the document holds once every alias is expanded, counting shared nodes each time."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    # Iterative post-order walk: documents can be deep, and an alias points back at a node already seen.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if not done and id(node) in open_nodes:
            raise YamlTooLargeError("holds a recursive alias (a node that contains itself)")
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = (
            [child for pair in node.value for child in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            total = 1 + sum(sizes.get(id(child), 1) for child in children)
            if total > limit:
                raise YamlTooLargeError(f"expands to more than {limit:,} nodes (nested aliases)")
            sizes[id(node)] = total
            open_nodes.discard(id(node))
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes.get(id(root), 0)


def safe_load(text: str | bytes, *, max_nodes: int = MAX_EXPANDED_NODES) -> Any:
    """yaml.safe_load, refusing a document whose aliases expand past ``max_nodes`` nodes."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_nesting(document: Any, what: str | Callable[[], str]) -> Any:
    """``document``, unless it nests deeper than the raw files' writer (orjson) can store: then a
    MalformedResponseError for this document alone, not a crash of the whole run at write time.
    ``what`` names the document, or makes the name only when needed (it is on every request's path)."""
    nested = document
    for _ in range(NESTING_MARGIN):  # room for the levels the raw file wraps around it
        nested = [nested]
    try:
        orjson.dumps(nested)
    except orjson.JSONEncodeError as exc:
        name = what() if callable(what) else what
        raise MalformedResponseError(f"{name}: document cannot be stored ({exc})") from None
    return document
