"""Which OpenAPI operation serves a concrete path, as the OpenAPI Specification says.

Pure: no store, no clock, no vendor code. Sources (tests/analysis/conformance/openapi.yaml cites them
row by row):

- OAS 3.1.0 §4.8.8 "Paths Object", "Path Templating Matching" (spec.openapis.org/oas/v3.1.0) and OAS
  3.0.3 §4.7.8 (spec.openapis.org/oas/v3.0.3): a templated path serves the concrete paths that fill its
  templates; "concrete (non-templated) paths would be matched before their templated counterparts"
  (``/pets/mine`` before ``/pets/{petId}``); templated paths that differ only in parameter names are
  the same path; "in case of ambiguous matching, it's up to the tooling to decide which one to use".
- OAS 3.1.0 §3.2 / 3.0.3 §3.2 "Path Templating": "a template expression, delimited by curly braces
  ({}), to mark a section of a URL path as replaceable using path parameters"; each template
  expression in the path MUST correspond to a path parameter; a parameter's value cannot hold an
  unescaped ``/`` (§4.8.12.1 "Parameter Locations": path parameters are part of the operation's URL,
  and RFC 6570 simple expansion escapes ``/`` in a value).

apiinv's endpoint keys write template expressions as ``{}`` (apiinv.inventory.keys); a path here is
a key's path, and any ``{...}`` in it is one template expression, whole segment (``/pets/{}``) or part
of one (``/Calls/{}.json``). It matches any non-empty run of characters other than ``/``: a number, a
word (``cat``), a UUID, or ``{}`` itself (a key's reduced number).

Precedence (the tooling's choice the specification leaves open): segment by segment from the left, a
literal segment beats a segment with a template expression in it, and a partly literal segment
(``{}.json``) beats a whole-segment parameter; so ``/pets/mine`` beats ``/pets/{}``, and on
``/books/me`` ``/books/{}`` beats ``/{}/me``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TypeVar

_EXPRESSION = re.compile(r"\{[^{}/]*\}")
_VALUE = "[^/]+"
T = TypeVar("T")


def templated(path: str) -> bool:
    return _EXPRESSION.search(path) is not None


@lru_cache(maxsize=65536)
def _pattern(template: str, *, prefix: bool) -> re.Pattern[str]:
    body = _VALUE.join(re.escape(part) for part in _EXPRESSION.split(template))
    # A prefix covers the path itself and everything below it, on segment boundaries.
    return re.compile(body.rstrip("/") + "(?:/.*)?" if prefix else body, re.DOTALL)


def serves(template: str, path: str) -> bool:
    """Whether an operation's path template serves ``path`` (a concrete path, or a key's path)."""
    if not templated(template):
        return template == path
    return _pattern(template, prefix=False).fullmatch(path) is not None


def serves_below(template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` or below it, on segment boundaries (a base path)."""
    if template in ("", "/"):
        return True
    return _pattern(template, prefix=True).fullmatch(path) is not None


def specificity(template: str) -> tuple[int, ...]:
    """A sort key, larger = more concrete: per segment from the left, 2 literal, 1 partly templated,
    0 a whole-segment parameter."""
    return tuple(
        0 if _EXPRESSION.fullmatch(segment) else 1 if templated(segment) else 2
        for segment in template.strip("/").split("/")
    )


def most_specific(entries: Iterable[T], template_of: Callable[[T], str]) -> list[T]:
    """The entries whose template is the most concrete of them (Path Templating Matching)."""
    entries = list(entries)
    if len(entries) < 2:
        return entries
    best = max(specificity(template_of(entry)) for entry in entries)
    return [entry for entry in entries if specificity(template_of(entry)) == best]
