"""Field expressions of configuration-driven sources: JMESPath (https://jmespath.org), with shorthands.

A ``fields`` value or a listing's placeholder is one of:

- a plain dotted path (``id.url``, ``"@collections.hostName"``): a step into a list maps over it and
  nested lists are flattened (where JMESPath would give null), keys may hold ``-`` and ``@``;
- a template (``"https://{host}{path}"``): each ``{...}`` is an expression, and one without a value
  leaves the whole template without one; it is ``format('https://{}{}', host, path)`` in JMESPath;
- a constant (``{const: [akto]}``), the same as the JMESPath literal ``\\`["akto"]\\```;
- any other JMESPath expression: filters (``hostnames[?type=='Proxy'].name``), defaults (``domain ||
  proxy.host``), negation (``!use_keyless``), conditions (``a && b``), quoted keys with dots
  (``metadata.annotations."backstage.io/source-location"``), ``join``, and the functions below.

In a child listing (``for_each``) an item carries its parent as ``@name``: ``@collections.hostName``
anywhere in an expression is the quoted key ``"@collections".hostName``.

Functions added to JMESPath's own: ``replace(text, old, new)`` (WSO2's ``{version}`` in a context);
``before(text, separator)``: the text up to the first ``separator``, the whole text without one (an
Azure operation's ``urlTemplate`` ``/users?$top={top}`` is the path ``/users``);
``format(fmt, values...)``: ``fmt`` with each ``{}`` replaced by the
next value (null when any value is null; a boolean is written true/false); a list among the values gives
a list, one text per element (``format('{}{}', context, versions)``: a path per version).

Each expression is compiled once (``compile_expression`` caches), so a bad one is found by
``validate-config``, not in the middle of a collection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Any

import jmespath
from jmespath import functions
from jmespath.exceptions import JMESPathError

from apiinv.sources.mapping import pick

# Plain dotted paths keep the mapping's list-friendly meaning (and allow ``-`` and ``@`` in keys).
_DOTTED = re.compile(r"^[\w@$-]+(\.[\w@$-]+)*$")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
# JMESPath's raw string and JSON literals, whose braces are text, not placeholders.
_LITERAL = re.compile(r"""'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`""")
# A parent written as @name where JMESPath needs the quoted key "@name" (never inside a literal).
_PARENT = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`|@([A-Za-z_]\w*)""")


class ExpressionError(ValueError):
    """An expression that does not compile; the message says what is wrong with it."""


class _Functions(functions.Functions):
    @functions.signature({"types": ["string"]}, {"types": [], "variadic": True})
    def _func_format(self, template: str, *values: Any) -> str | list[str] | None:
        if template.count("{}") != len(values):
            raise JMESPathError(f"format: {template.count('{}')} '{{}}' for {len(values)} value(s)")
        if any(value is None for value in values):
            return None
        if not any(isinstance(value, list) for value in values):
            return _fill(template, values)
        # A list among the values: one text per combination (a row each, as a path or host list).
        choices = [value if isinstance(value, list) else [value] for value in values]
        return [_fill(template, combination) for combination in product(*choices) if None not in combination]

    @functions.signature({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_replace(self, text: str, old: str, new: str) -> str:
        return text.replace(old, new)

    @functions.signature({"types": ["string"]}, {"types": ["string"]})
    def _func_before(self, text: str, separator: str) -> str:
        return text.partition(separator)[0] if separator else text


def _fill(template: str, values: Any) -> str:
    texts = [str(v).lower() if isinstance(v, bool) else _text(v) for v in values]
    parts = template.split("{}")
    return "".join(part + text for part, text in zip(parts, [*texts, ""], strict=True))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else jmespath.search("to_string(@)", value)


_OPTIONS = jmespath.Options(custom_functions=_Functions())


@dataclass(frozen=True)
class Expression:
    """One compiled field expression; ``search(item)`` is its value (None when there is none)."""

    source: Any
    _dotted: str | None = None
    _constant: Any = None
    _compiled: Any = None

    def search(self, item: Any) -> Any:
        if self._dotted is not None:
            return pick(item, self._dotted)
        if self._compiled is None:
            return self._constant
        try:
            return self._compiled.search(item, options=_OPTIONS)
        except JMESPathError:
            return None  # a value of a type the expression cannot take: no value, never a failure

    @property
    def constant(self) -> bool:
        return self._dotted is None and self._compiled is None


def compile_expression(spec: Any) -> Expression:
    """``spec`` (a string or ``{const: value}``) compiled; ExpressionError says why it cannot be."""
    if isinstance(spec, dict) and set(spec) == {"const"}:
        return Expression(spec, _constant=spec["const"])
    if not isinstance(spec, str):
        raise ExpressionError(f"expected an expression (text) or {{const: value}}, got {spec!r}")
    return _compile_text(spec)


@lru_cache(maxsize=1024)
def _compile_text(text: str) -> Expression:
    text = text.strip()
    if _DOTTED.match(text):
        return Expression(text, _dotted=text)
    if _is_template(text):
        whole = _PLACEHOLDER.fullmatch(text)
        if whole:  # one placeholder keeps its value's type (an id stays a number)
            return _compile_text(whole.group(1))
        return Expression(text, _compiled=_jmespath(_as_format(text)))
    return Expression(text, _compiled=_jmespath(text))


def _is_template(text: str) -> bool:
    """``{path}`` placeholders around text (never a JMESPath multi-select hash, whose keys have colons,
    nor braces inside a JMESPath literal such as WSO2's ``'{version}'``)."""
    bare = _LITERAL.sub("", text)
    return bool(_PLACEHOLDER.search(bare)) and all(":" not in p for p in _PLACEHOLDER.findall(bare))


def _as_format(text: str) -> str:
    """A template as a call of ``format``: literal text and one argument per placeholder."""
    literal = _PLACEHOLDER.sub("{}", text).replace("\\", "\\\\").replace("'", "\\'")
    arguments = [_as_argument(p.strip()) for p in _PLACEHOLDER.findall(text)]
    return f"format('{literal}', {', '.join(arguments)})"


def _as_argument(placeholder: str) -> str:
    if _DOTTED.match(placeholder):
        return ".".join(f'"{step}"' for step in placeholder.split("."))
    return placeholder


def _jmespath(text: str) -> Any:
    quoted = _PARENT.sub(lambda m: f'"@{m.group(1)}"' if m.group(1) else m.group(0), text)
    try:
        return jmespath.compile(quoted)
    except JMESPathError as exc:
        raise ExpressionError(_one_line(exc)) from None


def _one_line(error: JMESPathError) -> str:
    return " ".join(str(error).split())


def value_at(item: Any, spec: Any) -> Any:
    """The value ``spec`` gives for ``item`` (None for a spec that does not compile)."""
    try:
        return compile_expression(spec).search(item)
    except ExpressionError:
        return None


def problem(spec: Any) -> str | None:
    """What is wrong with ``spec`` as an expression, or None."""
    try:
        compile_expression(spec)
    except ExpressionError as exc:
        return str(exc)
    return None
