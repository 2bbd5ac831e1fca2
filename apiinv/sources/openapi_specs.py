"""OpenAPI documents kept in a repository checkout: Swagger 2.0, OpenAPI 3.0 and 3.1, YAML or JSON.

``paths`` lists files, folders (every ``*.yaml``, ``*.yml`` and ``*.json`` below them that is an
OpenAPI document) and globs, relative to the configuration folder. Each document is validated with
openapi-spec-validator (maintained, and the one validator covering 2.0, 3.0 and 3.1) and its
``$ref``s are resolved through jsonschema-path, the library that validator itself resolves with, so
what is read is exactly what was validated. References reach only files below the folders
``paths`` names: never another file of the machine, never the network. A broken document is one
warning naming the file and the JSON pointer of its first problem, and contributes nothing; so is a
file over ``max_spec_mb`` (refused unread) or one nested deeper than bounds.MAX_DEPTH levels.

Incremental: each document kept in the raw file carries the SHA-256 of every file read for it (itself
and the files its references reached). While the previous good collection has the document and none of
those files' bytes changed, the document is reused unparsed (parsing and validating are the cost: some
10 ms to seconds a document, against a hash at hundreds of MB/s); ``--full`` reads every one again.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from apiinv.errors import ApiInvError, CollectionError
from apiinv.inventory import openapi
from apiinv.inventory.records import as_dict, as_list, as_text, make_record
from apiinv.sources.base import Source
from apiinv.store import utf8_text

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext

SETTINGS_SCHEMA: dict[str, Any] = {
    "paths": {
        "description": "Files, folders or globs of OpenAPI documents, relative to the configuration folder.",
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
    },
    "max_spec_mb": {
        "description": "Larger spec files (and files they reference) are refused unread, with a warning.",
        "type": "number",
        "exclusiveMinimum": 0,
    },
}
# Not max_response_mb (256, for JSON answers orjson reads at hundreds of MB/s): PyYAML composes about
# 1 MB/s at some 12 bytes of memory per byte, so a 200 MB YAML took 2 minutes and 2.3 GB only to be
# refused. 50 MB holds the largest public specs several times over.
MAX_SPEC_MB = 50
SUFFIXES = (".yaml", ".yml", ".json")


def check(client: HttpClient, tool: ToolConfig) -> str:
    found = _files(tool.settings.get("paths") or [])
    return f"{len(found)} file(s) under {', '.join(tool.settings.get('paths') or [])}"


def _files(patterns: list[str]) -> dict[Path, bool]:
    """Each file to read -> whether it was named outright (then anything but OpenAPI is worth a warning)."""
    found: dict[Path, bool] = {}
    for pattern in patterns:
        path = Path(pattern)
        if path.is_file():
            found[path] = True
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.suffix.lower() in SUFFIXES and child.is_file():
                    found.setdefault(child, False)
        else:
            for match in sorted(glob.glob(pattern, recursive=True)):
                if Path(match).is_file():
                    found.setdefault(Path(match), False)
    return found


def _roots(patterns: list[str]) -> list[Path]:
    """The folders references may reach: each named folder, a named file's folder, a glob's fixed part."""
    roots = []
    for pattern in patterns:
        fixed = Path(pattern.split("*")[0].split("?")[0].split("[")[0])
        roots.append((fixed if fixed.is_dir() else fixed.parent).resolve())
    return roots


class _Refused(ApiInvError):
    code = "REF_REFUSED"


def _shown(path: Path) -> str:
    """A file's name as printable text: bytes of the name that are not UTF-8 as ``\\xff`` escapes
    (Python keeps them as lone surrogates, which no log, JSON or Excel file can be written with)."""
    return utf8_text(str(path))


class _FileLoader:
    """jsonschema-path's handler for file: references, bounded like every document apiinv reads and
    confined to ``roots``; other schemes have no handler, so a remote reference is never fetched."""

    def __init__(self, roots: list[Path], max_mb: float) -> None:
        self.roots, self.max_mb = roots, max_mb
        # Each file read -> the SHA-256 of its bytes: what the document read through this loader rests on.
        # None once a file's name is not its own path (not UTF-8): such a document is never reused.
        self.hashes: dict[str, str] | None = {}

    def __call__(self, uri: str) -> Any:
        # surrogateescape: the URI's %XX of a name that is not UTF-8 back to the name's own bytes.
        path = Path(unquote(urlsplit(uri).path, errors="surrogateescape")).resolve()
        return self.read(path, _shown(path))

    def read(self, path: Path, name: str) -> Any:
        """The document of ``path`` (resolved), each refusal naming it ``name``."""
        data = self.content(path, name)
        if self.hashes is not None:
            if _shown(path) == str(path):
                self.hashes[str(path)] = hashlib.sha256(data).hexdigest()
            else:
                self.hashes = None
        return openapi.parse_document(data, name)

    def content(self, path: Path, name: str) -> bytes:
        """The bytes of ``path`` (resolved), each refusal naming it ``name``; the size is checked before a
        byte is read."""
        if not any(path.is_relative_to(root) for root in self.roots):
            raise _Refused(f"{name}: outside the spec folders, refused")
        limit = int(self.max_mb * 1024 * 1024)
        if (size := path.stat().st_size) > limit:
            raise _Refused(
                f"{name}: {size / 1024 / 1024:,.1f} MB, over max_spec_mb {self.max_mb:g}: not read"
            )
        with path.open("rb") as file:
            data = file.read(limit + 1)  # it may have grown since
        if len(data) > limit:
            raise _Refused(f"{name}: grew past max_spec_mb {self.max_mb:g} while read")
        return data

    def unchanged(self, hashes: Any) -> bool:
        """Whether every file of ``hashes`` (path -> SHA-256, as a document's ``read_sha256``) still has
        those bytes: then the document read from them would be the same."""
        if not isinstance(hashes, dict) or not hashes:
            return False
        for name, digest in hashes.items():
            try:
                data = self.content(Path(name), name)
            except (ApiInvError, OSError):
                return False
            if hashlib.sha256(data).hexdigest() != digest:
                return False
        return True


class _OnlyFiles(dict[str, Any]):
    """A handler for every URI scheme: ``file`` by the bounded loader, any other refused. jsonschema-path
    fetches a scheme it has no handler for itself (http(s) with requests, the rest with urlopen), and
    a document from a repository must never make apiinv reach out to a host it names."""

    def __init__(self, loader: _FileLoader) -> None:
        super().__init__(file=loader)

    def __contains__(self, scheme: object) -> bool:
        return True

    def __missing__(self, scheme: str) -> Any:
        def refuse(uri: str) -> Any:
            raise _Refused(f"reference to {uri} refused: only files below the spec folders are read")

        return refuse


def fetch(ctx: FetchContext) -> dict[str, Any]:
    patterns = [str(p) for p in ctx.tool.settings.get("paths") or []]
    files = _files(patterns)
    missing = [p for p in patterns if not glob.has_magic(p) and not Path(p).exists()]
    if len(missing) == len(patterns):
        # A checkout that is not there is a failure (its last good data stands in), never "no specs".
        raise CollectionError(f"none of the paths exists: {', '.join(missing)}", tool=ctx.tool.name)
    for pattern in missing:
        ctx.warn(f"{pattern}: no such file or folder")
    max_mb = float(ctx.tool.settings.get("max_spec_mb", MAX_SPEC_MB))
    roots = _roots(patterns)
    previous = ctx.previous or {}
    earlier = {d.get("file"): d for d in as_list(previous.get("documents")) if isinstance(d, dict)}
    skipped_before = as_dict(previous.get("not_openapi"))
    # Files found in a folder that are no OpenAPI document (shared components, other YAML) -> SHA-256:
    # skipped unparsed too while unchanged. A named one is read each day, to warn each day.
    skipped: dict[str, str] = {}

    def read(path: Path, named: bool) -> dict[str, Any] | None:
        name, loader = _shown(path), _FileLoader(roots, max_mb)
        before = as_dict(earlier.get(name))
        if ctx.may_reuse("documents", name) and loader.unchanged(before.get("read_sha256")):
            return ctx.reusing(before)
        if not named and name in skipped_before and loader.unchanged({name: skipped_before[name]}):
            skipped[name] = ctx.reusing(skipped_before[name])
            return None
        return _document(ctx, loader, path, named, skipped)

    found = ctx.map(lambda item: read(*item), sorted(files.items()))
    documents = [document for document in found if document is not None]
    if not documents:
        raise CollectionError(f"no valid OpenAPI document under {', '.join(patterns)}", tool=ctx.tool.name)
    return {"documents": documents, "not_openapi": dict(sorted(skipped.items()))}


def _document(
    ctx: FetchContext, loader: _FileLoader, path: Path, named: bool, skipped: dict[str, str]
) -> dict[str, Any] | None:
    """The compacted document of ``path``, or None (with a warning unless it is an unnamed file that is
    no OpenAPI document: that one goes into ``skipped`` with its hash)."""
    name = _shown(path)
    try:
        spec = loader.read(path.resolve(), name)
    except ApiInvError as exc:  # it names the file
        ctx.warn(exc.message)
        return None
    except OSError as exc:
        ctx.warn(f"{name}: cannot read: {exc.strerror or type(exc).__name__}")
        return None
    if not isinstance(spec, dict) or not ("openapi" in spec or "swagger" in spec):
        if named:
            ctx.warn(f"{name}: not an OpenAPI document (no openapi or swagger key)")
        elif loader.hashes and name in loader.hashes:
            skipped[name] = loader.hashes[name]
        return None
    try:
        problem = _first_problem(spec, path, loader)
        if problem is None:
            compact = _compact(spec, path, loader)
            return {"file": name, **compact, **({"read_sha256": loader.hashes} if loader.hashes else {})}
    except Exception as exc:  # the validator and resolver raise many kinds; each is this document's fault
        problem = ("", _reason(exc))
    pointer, message = problem
    ctx.warn(f"{name}: invalid OpenAPI document at {pointer or '/'}: {message[:300]}")
    return None


def _reason(exc: BaseException) -> str:
    """Why a document could not be read: a refused reference, found behind the resolver's wrapping of
    it, or else the exception itself."""
    if isinstance(exc, RecursionError):  # not its depth (checked when read): a chain of $refs
        return "its references nest too deeply to follow"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _Refused):
            return cause.message
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"


def _schema_path(spec: dict[str, Any], path: Path, loader: _FileLoader) -> Any:
    from jsonschema_path import SchemaPath

    handlers = _OnlyFiles(loader)
    return SchemaPath.from_dict(spec, base_uri=path.resolve().as_uri(), handlers=handlers)


def _first_problem(spec: dict[str, Any], path: Path, loader: _FileLoader) -> tuple[str, str] | None:
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import ValidatorDetectError

    try:
        validator = get_validator_cls(spec)(_schema_path(spec, path, loader))
    except ValidatorDetectError:
        return "/", "unsupported or missing openapi/swagger version"
    for error in validator.iter_errors():
        parts = list(getattr(error, "absolute_path", None) or getattr(error, "path", None) or [])
        pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
        return pointer, str(getattr(error, "message", error))
    return None


def _compact(spec: dict[str, Any], path: Path, loader: _FileLoader) -> dict[str, Any]:
    """What the inventory needs of a document, every reference resolved: so processing works offline
    on the raw file alone."""
    root = _schema_path(spec, path, loader)

    def value(node: Any) -> Any:
        return node.read_value()

    definitions = _at(root, "components", "securitySchemes") or _at(root, "securityDefinitions")
    schemes = {name: dict(value(scheme)) for name, scheme in definitions.items()} if definitions else {}
    paths: dict[str, dict[str, Any]] = {}
    if "paths" in root:
        for name, item in (root / "paths").items():
            kept: dict[str, Any] = {
                k: value(item / k) for k in openapi.OWNER_KEYS + openapi.TEAM_KEYS if k in item
            }
            for method, operation in item.items():
                if method not in openapi.METHODS:
                    continue
                kept[method] = {
                    key: value(operation / key)
                    for key in (
                        "security",
                        "tags",
                        "operationId",
                        "deprecated",
                        *openapi.OWNER_KEYS,
                        *openapi.TEAM_KEYS,
                    )
                    if key in operation
                }
            paths[str(name)] = kept
    keep = ("openapi", "swagger", "info", "servers", "host", "basePath", "schemes", "security")
    compact = {key: value(root / key) for key in keep if key in root}
    compact.update(
        {key: value(root / key) for key in (*openapi.OWNER_KEYS, *openapi.TEAM_KEYS) if key in root}
    )
    compact["paths"] = paths
    if "swagger" in compact:
        compact["securityDefinitions"] = schemes
    else:
        compact["components"] = {"securitySchemes": schemes}
    return compact


def _at(node: Any, *keys: str) -> Any:
    """The node below ``keys`` (references followed), or None when one is missing."""
    for key in keys:
        if key not in node:
            return None
        node = node / key
    return node


def counts(raw: dict[str, Any]) -> dict[str, int]:
    documents = [as_dict(d) for d in as_list(raw.get("documents"))]
    return {
        "documents": len(documents),
        "operations": sum(1 for d in documents for _ in openapi.operations(d)),
    }


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    instance, collected = raw["tool"], raw.get("collected_at")
    for spec in map(as_dict, as_list(as_dict(raw["data"]).get("documents"))):
        info = as_dict(spec.get("info"))
        schemes = openapi.security_schemes(spec)
        hosts = openapi.servers(spec)
        for path, method, operation, item in openapi.operations(spec):
            required, types = openapi.auth(operation.get("security", spec.get("security")), schemes)
            for scheme, host, base_path in hosts:
                yield make_record(
                    tool="openapi_specs",
                    instance=instance,
                    collected_at=collected,
                    api_id=as_text(spec.get("file")),
                    api_name=as_text(info.get("title")),
                    host=host,
                    base_path=base_path,
                    method=method,
                    path=path,
                    scheme=scheme,
                    status="deprecated" if operation.get("deprecated") is True else "documented",
                    auth_required=required,
                    auth_types=types,
                    tags=[t for t in as_list(operation.get("tags")) if isinstance(t, str)],
                    owner=openapi.owner(operation, item, info, spec),
                )


SOURCE = Source(
    name="openapi_specs",
    role="spec",
    defaults={"auth_type": "none", "max_spec_mb": MAX_SPEC_MB},
    raw_shape={"documents": list},
    settings_schema=SETTINGS_SCHEMA,
    base_url=False,
    path_settings=("paths",),
    required_settings=("paths",),
    check=check,
    fetch=fetch,
    counts=counts,
    normalize=normalize,
    incremental=True,
    simulator="apiinv.sandbox.openapi_specs",
)
