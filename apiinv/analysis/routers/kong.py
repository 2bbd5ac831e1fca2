"""What a Kong 3.x route serves, as Kong's own router decides it.

Pure: no store, no clock, no vendor code. Sources are Kong's repository (github.com/Kong/kong at
22246ef): ``kong/router/*.lua``, ``kong/tools/uri.lua`` and their unit tests, in particular
``spec/01-unit/08-router_spec.lua`` and ``spec/fixtures/router_path_handling_tests.lua``;
tests/analysis/conformance/kong.yaml holds the cases row by row.

A route is one of Kong's route objects reduced to one (method, host, path) rule, as the Kong source
writes its records: ``*`` for a route without methods, an empty host for one without hosts, ``/`` for
one without paths.
"""

from __future__ import annotations

import re

# The standard library's own regex parser (sre_parse's home since 3.11, no stubs): a route regex is
# walked node by node over a template rather than matched against a string.
import re._constants as _c  # type: ignore[import-not-found]
import re._parser as _sre  # type: ignore[import-not-found]
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

from apiinv.inventory.keys import ANY_METHOD

# RFC 3986 reserved characters (and %): kong/tools/uri.lua RESERVED_CHARS. Kong decodes every other
# percent-encoded byte before routing and upper-cases the ones it keeps.
_RESERVED = frozenset(b"!*'();:@&=+$,/?%#[]")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


class UnsupportedRegex(ValueError):
    """A route regex this module cannot evaluate as Kong's Rust ``regex`` crate would."""


def normalize_request_path(path: str) -> str:
    """The request path as Kong's router sees it (kong/router/utils.lua strip_uri_args, then
    kong/tools/uri.lua normalize(uri, true)): no query, unreserved percent-escapes decoded, dot
    segments removed (RFC 3986 5.2.4), repeated slashes merged. Route paths are never normalised
    (08-router_spec.lua:2446 "route no longer normalize user configured path")."""
    if "?" in path:
        path = path.split("?", 1)[0]
    if "%" in path:
        raw = _PERCENT.sub(_decode, path.encode("utf-8", "surrogateescape"))
        path = raw.decode("utf-8", "surrogateescape")
    if "/." in path or path.startswith("."):  # a dot segment follows a slash or starts the path
        path = _remove_dot_segments(path)
    return _merge_slashes(path) if "//" in path else path


def _decode(match: re.Match[bytes]) -> bytes:
    byte = int(match.group(1), 16)
    return match.group(0).upper() if byte in _RESERVED else bytes([byte])


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, as kong/tools/uri.lua normalize does it (18-tools_uri_spec.lua:32-40)."""
    output: list[str] = []
    while path:
        if path.startswith(("../", "./")):
            path = path[path.index("/") + 1 :]
        elif path.startswith("/./") or path == "/.":
            path = "/" + path[3:]
        elif path.startswith("/../") or path == "/..":
            path = "/" + path[4:]
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            end = path.find("/", 1)
            end = len(path) if end < 0 else end
            output.append(path[:end])
            path = path[end:]
    return "".join(output)


def _merge_slashes(path: str) -> str:
    return re.sub("/{2,}", "/", path)


# ------------------------------------------------------------------------------------------ hosts


def host_matches(route_host: str, host: str) -> bool:
    """A route host against a request host (both lower case, default ports removed). An empty route
    host is any host; a route host without a port matches every port, one with a port only that port;
    ``*.`` and ``.*`` wildcards take the leftmost or rightmost labels (08-router_spec.lua:1183-1240)."""
    if not route_host:
        return True
    route_name, route_port = _split_port(route_host)
    name, port = _split_port(host)
    if route_port and route_port != port:
        return False
    if route_name.startswith("*."):
        return name.endswith(route_name[1:]) and len(name) > len(route_name) - 1
    if route_name.endswith(".*"):
        return name.startswith(route_name[:-1]) and len(name) > len(route_name) - 1
    return route_name == name


def host_name(host: str) -> str:
    """A host without its port: what a route host without wildcards must equal (``host_matches``)."""
    return _split_port(host)[0]


def exact_host_name(route_host: str) -> str | None:
    """The one host name a route host matches (on any port, or its own), None when it matches many
    (no host, a wildcard): a key to look routes and traffic up by."""
    name = host_name(route_host) if route_host else ""
    return name if name and not (name.startswith("*.") or name.endswith(".*")) else None


def _split_port(host: str) -> tuple[str, str]:
    if host.startswith("["):  # an IPv6 literal: [::1]:8000
        name, _, rest = host.partition("]")
        return name + "]", rest.removeprefix(":")
    name, colon, port = host.partition(":")
    return (name, port) if colon and port.isdigit() else (host, "")


# ------------------------------------------------------------------------------------------ paths


def path_matches(route_path: str, path: str) -> bool:
    """A route path against a normalised request path. A plain path is a pure string prefix, with no
    segment boundary (08-router_spec.lua:443-470: "/my-route" serves "/my-route-uri"); trailing slashes
    are literal (router_path_handling_tests.lua:33: "/route/" serves "/route/" and "/route/req", never
    "/route"). A ``~`` path is a regex anchored at the start (the traditional_compatible router writes
    ``http.path ~ "^..."``, 08-router_spec.lua:2342), a prefix unless it ends in ``$``."""
    if route_path.startswith("~"):
        return compiled(route_path[1:]).match(path) is not None
    return path.startswith(route_path or "/")


def literal_prefix(route_path: str) -> str:
    """What every path a route serves starts with: the plain path itself, or a regex's leading literal
    characters ("" when it has none or an alternation could start elsewhere)."""
    if not route_path.startswith("~"):
        return route_path or "/"
    expression = route_path[1:]
    if "|" in expression:
        return ""
    literal = re.match(r"[^\\.^$*+?()\[\]{}|]*", expression)
    text = literal.group(0) if literal else ""
    following = expression[len(text) : len(text) + 1]
    return text[:-1] if following in ("*", "?", "{") else text


# One per distinct route regex of the estate, kept: a bounded cache (4,096) overflowed past about
# 16,000 APIs, and every route test then compiled its regex again.
@cache
def compiled(expression: str) -> re.Pattern[str]:
    """A route regex (Rust ``regex`` crate syntax, which Kong 3.x evaluates) as a Python pattern.
    Raises UnsupportedRegex for what Python's ``re`` cannot express the same way."""
    try:
        return re.compile(_translate(expression))
    except UnsupportedRegex:
        raise
    except (re.error, ValueError) as error:  # ValueError: a malformed \x{..}
        raise UnsupportedRegex(f"{expression!r}: {error}") from None


# Kong 3.x routers (traditional_compatible, expressions) hand route regexes to atc-router, which
# compiles them with Rust's `regex` crate (Kong: kong/router/transform.lua and the atc-router
# dependency). The translation below follows that crate's documented syntax (docs.rs/regex, "Syntax":
# "Grouping and flags": `(?flags)` applies from where it stands to the end of its group; "Escape
# sequences": `\z` end of text, `\x{10FFFF}`; "ASCII character classes": `[[:alpha:]]` and the rest).
# POSIX classes the Rust crate accepts inside brackets ([[:alpha:]]), all ASCII.
_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "digit": "0-9",
    "lower": "a-z",
    "upper": "A-Z",
    "space": r"\t\n\v\f\r ",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_FLAGS = re.compile(r"\(\?([imsxuU]*)(?:-([imsxuU]*))?([:)])")


def _translate(expression: str) -> str:
    """Rust regex syntax to Python's: ``(?<name>`` groups, inline flags anywhere (Rust applies
    ``(?i)`` from where it stands to the end of its group; Python only accepts flags at the very start,
    so each becomes a scoped ``(?i:...)`` closed at the group's end and around each alternative),
    ``\\z``, ``\\x{..}`` and ASCII POSIX classes. Unicode classes (``\\p``), class set operations and
    the ``U``/``-u`` flags have no Python equivalent: UnsupportedRegex."""
    out: list[str] = []
    open_flags: list[list[str]] = [[]]  # per group depth: the scoped flag groups still open
    i, n = 0, len(expression)
    while i < n:
        char = expression[i]
        if char == "\\":
            escape = expression[i : i + 2]
            if escape[1:] in ("p", "P"):
                raise UnsupportedRegex(f"{expression!r}: Unicode classes (\\p) are not evaluated")
            if escape == "\\z":
                out.append(r"\Z")
            elif escape == "\\x" and expression[i + 2 : i + 3] == "{":
                end = expression.index("}", i)
                out.append(re.escape(chr(int(expression[i + 3 : end], 16))))
                i = end + 1
                continue
            else:
                out.append(escape)
            i += 2
            continue
        if char == "[":
            i = _copy_class(expression, i, out)
            continue
        if expression.startswith("(?<", i) and expression[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")
            open_flags.append([])
            i += 3
            continue
        flags = _FLAGS.match(expression, i)
        if flags:
            on, off, closer = flags.group(1), flags.group(2) or "", flags.group(3)
            if "U" in on + off or "u" in off:
                raise UnsupportedRegex(f"{expression!r}: the U and -u flags are not evaluated")
            spec = on.replace("u", "") + (f"-{off}" if off.replace("u", "") else "")
            if closer == ":":
                out.append(f"(?{spec}:" if spec else "(?:")
                open_flags.append([])
            elif spec:  # (?i) mid-group: scoped to the rest of the group
                out.append(f"(?{spec}:")
                open_flags[-1].append(spec)
            i = flags.end()
            continue
        if char == "(":
            out.append("(")
            open_flags.append([])
        elif char == ")":
            out.append(")" * len(open_flags.pop() if len(open_flags) > 1 else []) + ")")
        elif char == "|":
            pending = open_flags[-1]
            out.append(")" * len(pending) + "|" + "".join(f"(?{spec}:" for spec in pending))
        else:
            out.append(char)
        i += 1
    out.append(")" * sum(len(level) for level in open_flags))
    return "".join(out)


def _copy_class(expression: str, start: int, out: list[str]) -> int:
    """Copies a bracket class from ``start``; returns the index after it."""
    i = start + 1
    body: list[str] = []
    if expression[i : i + 1] == "^":
        body.append("^")
        i += 1
    if expression[i : i + 1] == "]":
        body.append(r"\]")
        i += 1
    while i < len(expression) and expression[i] != "]":
        posix = re.match(r"\[:(\^?)([a-z]+):\]", expression[i:])
        if posix and posix.group(2) in _POSIX and not posix.group(1):
            body.append(_POSIX[posix.group(2)])
            i += posix.end()
            continue
        if expression[i] == "[" or expression[i : i + 2] in ("&&", "--", "~~"):
            raise UnsupportedRegex(f"{expression!r}: nested classes and class set operations")
        if expression[i] == "\\":
            if expression[i + 1 : i + 2] in ("p", "P"):
                raise UnsupportedRegex(f"{expression!r}: Unicode classes (\\p) are not evaluated")
            body.append(expression[i : i + 2])
            i += 2
            continue
        body.append(expression[i])
        i += 1
    out.append("[" + "".join(body) + "]")
    return i + 1


# ------------------------------------------------------------------------------------------ routes


def serves(route_method: str, route_host: str, route_path: str, method: str, host: str, path: str) -> bool:
    """Whether a route rule serves a request: its method (``*`` any), its host (empty: any) and its
    path (``/`` when the route has none: every path) all match (08-router_spec.lua:2250-2274: an
    empty field adds no condition). ``path`` is the request path before normalisation."""
    if route_method not in (ANY_METHOD, method) or not host_matches(route_host, host):
        return False
    return path_matches(route_path, normalize_request_path(path))


# ------------------------------------------------------------------------------------------ templates
#
# A template (a spec's /users/{id}, a key's /users/{}) is a set of request paths, one per value of each
# parameter (any non-empty run of characters other than "/", as routers.openapi reads templates). A
# route serves a template when it serves at least one of those paths: the route's regex (a plain path:
# the literal prefix) is run over the template with each parameter standing for whatever characters
# the regex asks for there, so the question is answered exactly, not by trying sample values.

_PARAMETER = None  # a template token standing for one parameter's value
_Token = str | None
_State = tuple[int, bool]  # (token index, inside a parameter that has taken at least one character)
# Characters tried (with those a class names) when asking whether a class accepts one other than "/".
_PROBES = "a0A_-.~ %:@!$&'()*+,;=\u00e9"


def serves_template(
    route_method: str, route_host: str, route_path: str, method: str, host: str, template: str
) -> bool:
    """``serves`` for a template: whether the route serves some path the template stands for."""
    if route_method not in (ANY_METHOD, method) or not host_matches(route_host, host):
        return False
    expression = route_path[1:] if route_path.startswith("~") else re.escape(route_path or "/")
    return _some_value_served(expression, template)


@lru_cache(maxsize=65536)
def _some_value_served(expression: str, template: str) -> bool:
    pattern = compiled(expression) if expression else re.compile("")
    tokens = template_tokens(template)
    nodes = _sre.parse(pattern.pattern, pattern.flags)
    try:
        return _Walk(tokens).run(list(nodes), 0, (0, False), pattern.flags, lambda _: True)
    except RecursionError:  # a path far longer than any route; judged as not served
        return False


def template_tokens(template: str) -> list[_Token]:
    """A template's characters, ``None`` (_PARAMETER) for each parameter."""
    parts = re.split(r"\{[^{}/]*\}", template)
    tokens: list[_Token] = list(parts[0])
    for part in parts[1:]:
        tokens.append(_PARAMETER)
        tokens.extend(part)
    return tokens


class _Walk:
    """A backtracking run of a parsed regex (``re._parser`` nodes) over template tokens, anchored at
    the start like Kong's router, a prefix unless the regex says where the path ends."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens

    def _closures(self, state: _State) -> list[_State]:
        index, inside = state
        return [state, (index + 1, False)] if inside else [state]

    def _at_end(self, state: _State) -> bool:
        return any(index == len(self.tokens) and not inside for index, inside in self._closures(state))

    def _step(self, state: _State, test: tuple[Callable[[str], bool], bool], flags: int) -> list[_State]:
        """The states after one character the node accepts; a parameter takes it when the node accepts
        some character other than "/"."""
        accepts, takes_a_value = test
        found: list[_State] = []
        for index, inside in self._closures(state):
            if inside:
                if takes_a_value:
                    found.append((index, True))
            elif index < len(self.tokens):
                token = self.tokens[index]
                if token is _PARAMETER:
                    if takes_a_value:
                        found.append((index, True))
                elif accepts(token) or (flags & re.IGNORECASE and accepts(token.swapcase())):
                    found.append((index + 1, False))
        return found

    def run(
        self, nodes: list[Any], at: int, state: _State, flags: int, then: Callable[[_State], bool]
    ) -> bool:
        if at == len(nodes):
            return then(state)
        op, arg = nodes[at]

        def rest(next_state: _State) -> bool:
            return self.run(nodes, at + 1, next_state, flags, then)

        if op in _CHARACTER_OPS:
            return any(rest(s) for s in self._step(state, _char_test(op, arg, flags), flags))
        if op is _c.SUBPATTERN:
            _, add, remove, body = arg
            inner = (flags | add) & ~remove
            return self.run(list(body), 0, state, inner, rest)
        if op is _c.BRANCH:
            return any(self.run(list(branch), 0, state, flags, rest) for branch in arg[1])
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, high, body = arg
            return self._repeat(list(body), low, high, state, flags, rest)
        if op is _c.AT:
            if arg in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
                return state == (0, False) and rest(state)
            if arg in (_c.AT_END, _c.AT_END_STRING):
                return self._at_end(state) and rest((len(self.tokens), False))
        return False  # word boundaries and what Rust's syntax cannot write: not judged, not served

    def _repeat(
        self, body: list[Any], low: int, high: int, state: _State, flags: int, then: Callable[[_State], bool]
    ) -> bool:
        if low > 0:
            return self.run(
                body, 0, state, flags, lambda s: self._repeat(body, low - 1, high - 1, s, flags, then)
            )
        if then(state):
            return True
        # One more round only where it moves on, so a body that can match nothing cannot loop.
        return high != 0 and self.run(
            body, 0, state, flags, lambda s: s != state and self._repeat(body, 0, high - 1, s, flags, then)
        )


def _char_test(op: Any, arg: Any, flags: int) -> tuple[Callable[[str], bool], bool]:
    """What a one-character node accepts, and whether that includes some character other than "/"."""
    if op is _c.ANY:
        return (lambda c: bool(flags & re.DOTALL) or c != "\n"), True
    if op is _c.LITERAL:
        return (lambda c: ord(c) == arg), arg != ord("/")
    if op is _c.NOT_LITERAL:
        return (lambda c: ord(c) != arg), True

    def accepts(c: str) -> bool:
        return _in_class(arg, c)

    named = [chr(a) for o, a in arg if o is _c.LITERAL] + [chr(a[0]) for o, a in arg if o is _c.RANGE]
    return accepts, any(accepts(c) for c in [*_PROBES, *named] if c != "/")


def _in_class(items: list[Any], char: str) -> bool:
    negate = bool(items) and items[0][0] is _c.NEGATE
    code = ord(char)
    hit = False
    for op, arg in items[1:] if negate else items:
        if op is _c.LITERAL:
            hit = code == arg
        elif op is _c.RANGE:
            hit = arg[0] <= code <= arg[1]
        elif op is _c.CATEGORY:
            hit = re.fullmatch(_CATEGORIES[arg], char) is not None
        if hit:
            break
    return hit is not negate


_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_CHARACTER_OPS = (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN)
