"""Reading OpenAPI documents into inventory terms, for every source that holds them (42Crunch's
specs, spec files in a repository): hosts from servers, each operation's effective security, the
kinds of its security schemes, owners from ``x-`` extensions. Pure functions of the document."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson

from apiinv.bounds import YamlTooLargeError, check_depth, check_nesting, safe_load
from apiinv.errors import MalformedResponseError
from apiinv.inventory.records import as_dict, as_list, as_text

METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
SCHEME_TYPES = {
    "apikey": "api_key",
    "oauth2": "oauth2",
    "openidconnect": "oidc",
    "mutualtls": "mtls",
    "basic": "basic",
}
OWNER_KEYS = ("x-owner", "x-api-owner")
TEAM_KEYS = ("x-team", "x-owner-team")
MAX_SERVER_EXPANSION = 64  # host combinations one server's enum variables may expand to


def parse_document(raw: bytes | str, what: str) -> Any:
    """A JSON or YAML document, bounded: YAML aliases that expand too far, nesting deeper than
    bounds.MAX_DEPTH (every later step recurses per level) and what the raw files cannot hold are a
    MalformedResponseError naming ``what``."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        import yaml

        try:
            document = safe_load(raw)
        except YamlTooLargeError as exc:
            raise MalformedResponseError(f"{what}: refused: the document {exc}") from None
        except yaml.YAMLError:
            raise MalformedResponseError(f"{what}: neither JSON nor YAML") from None
    # JSON nests up to orjson's 1024 levels, and YAML aliases nest a document past what was composed.
    return check_nesting(check_depth(document, what), what)


def scheme_type(scheme: dict[str, Any]) -> str:
    kind = str(scheme.get("type") or "").lower()
    if kind == "http":
        http = str(scheme.get("scheme") or "").lower()
        if http == "bearer":
            return "jwt" if str(scheme.get("bearerFormat") or "").upper() == "JWT" else "bearer"
        return http or "http"
    return SCHEME_TYPES.get(kind, kind or "unknown")


def security_schemes(spec: dict[str, Any]) -> dict[str, str]:
    """Scheme name -> kind, from components.securitySchemes (OpenAPI 3) or securityDefinitions (2)."""
    definitions = as_dict(as_dict(spec.get("components")).get("securitySchemes")) or as_dict(
        spec.get("securityDefinitions")
    )
    return {name: scheme_type(s) for name, s in definitions.items() if isinstance(s, dict)}


def auth(security: Any, schemes: dict[str, str]) -> tuple[bool, list[str]]:
    """Required only when every alternative asks for something ([{}] makes auth optional; [] is none)."""
    if not isinstance(security, list) or not security:
        return False, []
    required = all(isinstance(req, dict) and req for req in security)
    types = sorted(
        {schemes.get(name, "unknown") for req in security if isinstance(req, dict) for name in req}
    )
    return required, types


def _expanded(url: str, variables: dict[str, Any]) -> list[str]:
    """A server URL with each variable replaced by every value of its enum (else its default)."""
    names = [name for name in variables if "{" + name + "}" in url]
    choices = []
    for name in names:
        variable = as_dict(variables[name])
        values = [as_text(v) for v in as_list(variable.get("enum")) if as_text(v) is not None]
        choices.append(values or [as_text(variable.get("default")) or ""])
    urls = []
    for combination in itertools.islice(itertools.product(*choices), MAX_SERVER_EXPANSION):
        expanded = url
        for name, value in zip(names, combination, strict=True):
            expanded = expanded.replace("{" + name + "}", str(value))
        urls.append(expanded)
    return urls


def servers(
    spec: dict[str, Any], item: dict[str, Any] | None = None, operation: dict[str, Any] | None = None
) -> list[tuple[str, str, str]]:
    """(scheme, host, base path) of every server an operation is served on: OpenAPI 3 ``servers`` of
    the operation, else of its path item, else of the document (OAS 3.0.3 sections 4.7.10 Operation
    Object and 4.7.9 Path Item Object: "an alternative server array to service" this operation / all
    operations in this path, https://spec.openapis.org/oas/v3.0.3#operation-object), with variables
    expanded (section 4.7.6 Server Variable Object); or Swagger 2 ``host`` + ``basePath`` (https when
    ``schemes`` has it). Variants on the same host and base path (an ``http``/``https`` enum) are one
    server, https when one of them is. One empty host when none. Swagger 2 without ``schemes`` means
    the scheme the document was fetched by (swagger.io/specification/v2, "Swagger Object" schemes),
    OAS 3 without ``servers`` a server at ``/`` (OAS 3.0.3 section 4.7.1 OpenAPI Object); https in
    both, and the merged variants, are not stated by the specifications: apiinv's choice."""
    if "swagger" in spec:
        schemes = [str(s) for s in as_list(spec.get("schemes"))] or ["https"]
        scheme = "https" if "https" in schemes else schemes[0]
        return [(scheme, as_text(spec.get("host")) or "", as_text(spec.get("basePath")) or "")]
    levels = (as_list(as_dict(level).get("servers")) for level in (operation, item, spec))
    declared = next((level for level in levels if level), [])
    found: dict[tuple[str, str], str] = {}  # (host, base path) -> scheme
    for server in map(as_dict, declared):
        for url in _expanded(as_text(server.get("url")) or "", as_dict(server.get("variables"))):
            try:
                parts = urlsplit(url)
            except ValueError:
                continue
            place = (parts.netloc, parts.path if parts.netloc else url)
            if found.get(place) != "https":
                found[place] = parts.scheme or "https"
    return [(scheme, host, base_path) for (host, base_path), scheme in found.items()] or [("https", "", "")]


def owner(*levels: Any) -> str | None:
    """The owner an ``x-owner`` / ``x-team`` extension names, from the most specific level that has one."""
    for level in map(as_dict, levels):
        name = next((as_text(level.get(k)) for k in OWNER_KEYS if as_text(level.get(k))), None)
        team = next((as_text(level.get(k)) for k in TEAM_KEYS if as_text(level.get(k))), None)
        if name or team:
            return f"{name} ({team})" if name and team else name or team
    return None


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, method, operation, path item) of every operation of a document."""
    for path, item in as_dict(spec.get("paths")).items():
        for method, operation in as_dict(item).items():
            if method in METHODS and isinstance(operation, dict):
                yield str(path), method, operation, as_dict(item)
