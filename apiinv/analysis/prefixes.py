"""Literal prefixes in a character trie: which of them a path starts with, or some path a template
stands for starts with, in steps bounded by the path's length rather than by how many prefixes (or
prefix lengths) an estate has.

A template is given as tokens: one character each, ``None`` for a parameter, which stands for any
non-empty run of characters other than ``/`` (routers.kong.template_tokens, routers.openapi).
"""

from __future__ import annotations

from collections.abc import Sequence

_END = ""  # the child key marking that a prefix ends at a node (a character is never empty)
_Node = dict[str, "_Node"]


class PrefixTrie:
    def __init__(self) -> None:
        self.root: _Node = {}

    def add(self, prefix: str) -> None:
        node = self.root
        for char in prefix:
            node = node.setdefault(char, {})
        node[_END] = {}

    def starting(self, path: str) -> list[str]:
        """The prefixes ``path`` starts with, shortest first."""
        found = [""] if _END in self.root else []
        node = self.root
        for end, char in enumerate(path, 1):
            next_node = node.get(char)
            if next_node is None:
                break
            node = next_node
            if _END in node:
                found.append(path[:end])
        return found

    def reaching(self, tokens: Sequence[str | None]) -> list[str]:
        """The prefixes that some path the template stands for starts with, sorted."""
        found: set[str] = set()
        visited: set[tuple[int, int, bool]] = set()
        # (node, its text, the token it is at, inside a parameter that has taken a character)
        pending: list[tuple[_Node, str, int, bool]] = [(self.root, "", 0, False)]
        while pending:
            node, text, at, inside = pending.pop()
            if (id(node), at, inside) in visited:
                continue
            visited.add((id(node), at, inside))
            if _END in node:
                found.add(text)
            if inside:  # the parameter takes one more character, or ends here
                pending.extend((child, text + char, at, True) for char, child in _value_steps(node))
                pending.append((node, text, at + 1, False))
            elif at < len(tokens):
                token = tokens[at]
                if token is None:
                    pending.extend((child, text + char, at, True) for char, child in _value_steps(node))
                elif token in node:
                    pending.append((node[token], text + token, at + 1, False))
        return sorted(found)


def _value_steps(node: _Node) -> list[tuple[str, _Node]]:
    """The characters a parameter's value may take from ``node``: any but ``/``."""
    return [(char, child) for char, child in node.items() if char not in (_END, "/")]
