"""endpoint_key: one identity for the same endpoint as every tool spells it.

Upper-case method, lower-case host without default port, base path joined with path, and every path
parameter spelling ({id}, :id, <id>, Kong's (?<id>...) groups, numeric, UUID and long hex segments,
Apigee's * wildcards) reduced to {}. A template expression inside a segment (``/Calls/{Sid}.json``)
is reduced in place (``/Calls/{}.json``): OAS 3.0.3 section 3.2 "Path Templating"
(https://spec.openapis.org/oas/v3.0.3#path-templating) has curly braces mark "a section of a URL
path", a whole segment or part of one. A concrete path keeps such a segment literal
(``/Calls/CA0123.json``): nothing in it says which part is a value.
"""

from __future__ import annotations

import re
from sys import intern

ANY_METHOD = "*"
_PARAM_SEGMENT = re.compile(
    r"""^(
        \{[^{}/]*\}                       # {id}
      | :[A-Za-z_][\w.-]*                 # :id
      | <[^<>/]*>                         # <id>, <int:id>
      | \(\?P?<[^>]+>[^)]*\)              # (?<id>[^/]+)
      | \*{1,2}                           # * and ** (Apigee)
      | \d+                               # 12345
      | [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}  # UUID
      | (?=[0-9a-fA-F]*\d)[0-9a-fA-F]{16,}  # long hex ids (Mongo ObjectIds, hashes)
    )$""",
    re.VERBOSE,
)
# A template expression in part of a segment. Its name starts with a letter or _ (or it is already
# {}), so a regex quantifier of a Kong route (\d{3}, [a-z]{2,4}) is not one.
_PARAM_IN_SEGMENT = re.compile(r"\{(?:[A-Za-z_][^{}/]*)?\}")
_DEFAULT_PORTS = (":443", ":80")
_REGEX_GROUP = re.compile(r"\(\?P?<[^>]+>[^)]*\)")  # Kong: (?<id>[^/]+), which itself holds a slash


# Inline flags of a route regex ((?i), (?-u), and the scoped (?i:orders)): they change how a path is
# matched, not which endpoint it names (Rust regex syntax, docs.rs/regex "Grouping and flags").
_INLINE_FLAGS = re.compile(r"\(\?[imsuxUR-]+\)")
_SCOPED_FLAGS = re.compile(r"\(\?[imsuxUR-]+:([^()]*)\)")


def strip_regex(path: str) -> str:
    """A Kong regex route path (~/users/(?<id>\\d+)$) without its regex markers and inline flags."""
    if not path.startswith("~"):
        return path
    return _SCOPED_FLAGS.sub(r"\1", _INLINE_FLAGS.sub("", path[1:].removesuffix("$")))


def normalize_method(method: str | None) -> str:
    method = re.sub(r"\s+", "_", (method or "").strip().upper())  # a space would split the key
    return ANY_METHOD if method in ("", "ANY", "ALL", ANY_METHOD) else method


def normalize_host(host: str | None) -> str:
    host = (host or "").strip().lower().rstrip(".")
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    for port in _DEFAULT_PORTS:
        if host.endswith(port):
            host = host[: -len(port)]
    return host


def join_path(base_path: str | None, path: str | None) -> str:
    joined = "/".join(part.strip("/") for part in (base_path or "", path or "") if part and part.strip("/"))
    return "/" + joined


def normalize_path(path: str | None) -> str:
    """The path with parameters reduced to {}; no query, no trailing or doubled slashes."""
    path = _REGEX_GROUP.sub("{}", strip_regex(path or "")).split("?", 1)[0].split("#", 1)[0]
    segments = [s for s in path.split("/") if s]
    return "/" + "/".join(_segment(s) for s in segments)


def _segment(segment: str) -> str:
    return "{}" if _PARAM_SEGMENT.match(segment) else _PARAM_IN_SEGMENT.sub("{}", segment)


def endpoint_key(method: str | None, host: str | None, base_path: str | None, path: str | None) -> str:
    path = _REGEX_GROUP.sub("{}", strip_regex(path or ""))
    return f"{normalize_method(method)} {normalize_host(host)}{normalize_path(join_path(base_path, path))}"


def path_key(key: str) -> str:
    """The key without its host: matches an endpoint whatever host it was seen on."""
    method, _, rest = key.partition(" ")
    slash = rest.find("/")
    return f"{method} {rest[slash:] if slash >= 0 else '/'}"


def split_key(key: str) -> tuple[str, str, str]:
    """(method, host, path) of a key. The method and host are interned: an estate has few of each, and
    the lookups built from every record keep them (at 10,000 APIs, 15 MB of copies of a few hundred)."""
    method, _, rest = key.partition(" ")
    slash = rest.find("/")
    if slash < 0:
        return intern(method), intern(rest), "/"
    return intern(method), intern(rest[:slash]), rest[slash:]


def covers(prefix_path: str, path: str) -> bool:
    """True when a prefix (an Apigee base path, an owner rule) covers ``path``, on segment boundaries."""
    if prefix_path in ("", "/"):
        return True
    return path == prefix_path or path.startswith(prefix_path.rstrip("/") + "/")
