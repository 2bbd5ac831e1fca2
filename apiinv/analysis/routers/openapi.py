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


# What a segment of a template asks of the path's segment in its place: that text itself, any value
# (``None``: a whole-segment parameter), or a pattern (a parameter in part of the segment).
_SegmentTest = str | re.Pattern[str] | None


@lru_cache(maxsize=65536)
def _segment_tests(template: str) -> tuple[_SegmentTest, ...]:
    """The template segment by segment. A value holds no ``/``, so the path's slashes must fall where
    the template's do, and each segment matches on its own: most segments are literal or one whole
    parameter and need no regular expression (compiling one per template cost more than all the
    matching of an estate's specs)."""
    return tuple(_segment_test(segment) for segment in template.split("/"))


@lru_cache(maxsize=4096)
def _segment_test(segment: str) -> _SegmentTest:
    if not templated(segment):
        return segment
    if _EXPRESSION.fullmatch(segment):
        return None
    return re.compile(_VALUE.join(re.escape(part) for part in _EXPRESSION.split(segment)), re.DOTALL)


def _fills(tests: tuple[_SegmentTest, ...], segments: list[str]) -> bool:
    for test, segment in zip(tests, segments, strict=False):
        if test is None:
            if not segment:
                return False
        elif isinstance(test, str):
            if test != segment:
                return False
        elif test.fullmatch(segment) is None:
            return False
    return True


def serves(template: str, path: str) -> bool:
    """Whether an operation's path template serves ``path`` (a concrete path, or a key's path)."""
    if not templated(template):
        return template == path
    tests, segments = _segment_tests(template), path.split("/")
    return len(segments) == len(tests) and _fills(tests, segments)


def serves_below(template: str, path: str) -> bool:
    """Whether ``path`` is ``template`` or below it, on segment boundaries (a base path)."""
    if template in ("", "/"):
        return True
    tests, segments = _segment_tests(template.rstrip("/")), path.split("/")
    return len(segments) >= len(tests) and _fills(tests, segments)


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
