"""Bounds on documents from outside: YAML alias expansion, nesting depth and JSON nesting.

A few hundred bytes of nested YAML aliases ("billion laughs") expand to billions of nodes once anything
walks the document: the composed node graph is measured as it would expand, before any Python object is
built, and refused past a limit. A JSON document may nest deeper than orjson can write back: it is
refused when it arrives, as that one document's fault, not when the raw file is written.

Every step a document passes may recurse once or more per level of nesting (PyYAML's composer, the
validators, orjson), and Python's stack holds about a thousand frames: a document nested deeper than
MAX_DEPTH is refused before anything walks it, instead of a RecursionError taking down what reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson

from apiinv.errors import MalformedResponseError

MAX_EXPANDED_NODES = 1_000_000
NESTING_MARGIN = 16
# Real documents nest a few dozen levels (an OpenAPI response schema 25 objects deep is about 60).
# openapi-spec-validator takes up to 12 frames per level (3.1 schemas) and PyYAML's composer 4 with
# its guard, so 64 levels stay well inside Python's 1000 frames.
MAX_DEPTH = 64


class YamlTooLargeError(ValueError):
    """The document would expand past the node limit (alias bomb)."""


class YamlTooDeepError(YamlTooLargeError):
    """The document nests deeper than the depth limit (found while composing, before recursing further)."""


def _too_deep(limit: int) -> str:
    return f"is nested deeper than {limit} levels"


@cache
def _depth_bounded_loader() -> type:
    """yaml.SafeLoader whose composer, which recurses once per level, stops at ``max_depth`` levels."""
    import yaml

    class Loader(yaml.SafeLoader):
        max_depth = MAX_DEPTH
        depth = 0

        def compose_sequence_node(self, anchor: Any) -> Any:
            return self._nested(super().compose_sequence_node, anchor)

        def compose_mapping_node(self, anchor: Any) -> Any:
            return self._nested(super().compose_mapping_node, anchor)

        def _nested(self, compose: Callable[[Any], Any], anchor: Any) -> Any:
            if self.depth >= self.max_depth:
                raise YamlTooDeepError(_too_deep(self.max_depth))
            self.depth += 1
            try:
                return compose(anchor)
            finally:
                self.depth -= 1

    return Loader


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


def safe_load(text: str | bytes, *, max_nodes: int = MAX_EXPANDED_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """yaml.safe_load, refusing a document whose aliases expand past ``max_nodes`` nodes or whose
    collections nest deeper than ``max_depth`` levels as written (aliases can nest it further: see
    check_depth)."""
    loader = _depth_bounded_loader()(text)
    loader.max_depth = max_depth
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_depth(document: Any, what: str, limit: int = MAX_DEPTH) -> Any:
    """``document``, unless its lists and objects nest deeper than ``limit`` levels: then a
    MalformedResponseError naming ``what``. Walked without recursion, so any depth is measured."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    raise MalformedResponseError(f"{what}: refused: the document {_too_deep(limit)}")
                pending.append((child, depth + 1))
    return document


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
