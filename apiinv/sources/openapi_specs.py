"""OpenAPI documents kept in a repository checkout: Swagger 2.0, OpenAPI 3.0 and 3.1, YAML or JSON.

``paths`` lists files, folders (every ``*.yaml``, ``*.yml`` and ``*.json`` below them that is an
OpenAPI document; the others, fragments reached by ``$ref``, are counted, not warned about) and globs,
relative to the configuration folder. Each document is validated with openapi-spec-validator
(maintained, and the one validator covering 2.0, 3.0 and 3.1) and its ``$ref``s are resolved through
jsonschema-path, the library that validator itself resolves with. References reach only files below
the folders ``paths`` names: never another file of the machine, never the network.

Reading is tolerant, as real repositories are full of documents with a violation or two: each
violation is a warning naming the file and its JSON pointer, a path item or operation that cannot
be read is left out (a warning names it), and the rest is kept. A document contributes nothing only
when nothing of it can be read: not JSON or YAML, not a mapping, no ``paths``, none of them readable,
over ``max_spec_mb`` (refused unread) or nested deeper than bounds.MAX_DEPTH levels.

Incremental: each document kept in the raw file carries the SHA-256 of every file read for it (itself
and the files its references reached). While the previous good collection has the document and none of
those files' bytes changed, the document is reused unparsed (parsing and validating are the cost: some
10 ms to seconds a document, against a hash at hundreds of MB/s); ``--full`` reads every one again. A
document with violations is read again every day, so its warnings are said every day.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
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
MAX_LISTED = 10  # warnings about one document; the rest are counted in one more
NOT_OPENAPI = "not an OpenAPI document"  # a file found in a folder that is none: counted, not warned
Problem = tuple[str, str]  # (JSON pointer, what is wrong there)


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
    not_openapi: dict[str, str] = {}

    def read(path: Path, named: bool) -> dict[str, Any] | str | None:
        name, loader = _shown(path), _FileLoader(roots, max_mb)
        before = as_dict(earlier.get(name))
        if ctx.may_reuse("documents", name) and loader.unchanged(before.get("read_sha256")):
            return ctx.reusing(before)
        if not named and name in skipped_before and loader.unchanged({name: skipped_before[name]}):
            not_openapi[name] = ctx.reusing(skipped_before[name])
            return NOT_OPENAPI
        return _document(ctx, loader, path, named, not_openapi)

    found = ctx.map(lambda item: read(*item), sorted(files.items()))
    documents = [document for document in found if isinstance(document, dict)]
    if not documents:
        raise CollectionError(f"no readable OpenAPI document under {', '.join(patterns)}", tool=ctx.tool.name)
    return {
        "documents": documents,
        "other_files": found.count(NOT_OPENAPI),
        "not_openapi": dict(sorted(not_openapi.items())),
    }


def _document(
    ctx: FetchContext, loader: _FileLoader, path: Path, named: bool, not_openapi: dict[str, str]
) -> dict[str, Any] | str | None:
    """The readable part of one file, or NOT_OPENAPI for a file found by walking a folder that is no
    OpenAPI document (a fragment reached by ``$ref``; its hash goes into ``not_openapi``), or None when
    nothing of it could be read."""
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
        if not named:
            if loader.hashes and name in loader.hashes:
                not_openapi[name] = loader.hashes[name]
            return NOT_OPENAPI
        ctx.warn(f"{name}: not an OpenAPI document (no openapi or swagger key)")
        return None
    if not isinstance(spec.get("paths"), dict):
        ctx.warn(f"{name}: not read: the document has no paths")
        return None
    readable, skipped = _readable(spec, path, loader)
    problems = _problems(skipped, _violations(spec, path, loader))
    for line in problems:
        ctx.warn(f"{name}: {line}")
    if spec["paths"] and not readable["paths"]:
        ctx.warn(f"{name}: not read: none of its paths could be read")
        return None
    # Only a document without violations is reused while unchanged: the others warn every day.
    reusable = {"read_sha256": loader.hashes} if loader.hashes and not problems else {}
    return {"file": name, **readable, **reusable}


def _problems(skipped: list[Problem], violations: list[Problem]) -> list[str]:
    """What to warn of a document: each part left out (with the violation that explains it, when the
    validator found one there), then each other violation; at most MAX_LISTED lines."""
    said = dict(violations)
    lines = [f"skipped {_shown_pointer(at)}: {said.get(at, reason)[:300]}" for at, reason in skipped]
    lines += [
        f"OpenAPI violation at {_shown_pointer(at)}: {message[:300]}"
        for at, message in violations
        if at not in dict(skipped)
    ]
    if len(lines) > MAX_LISTED:
        lines[MAX_LISTED:] = [f"{len(lines) - MAX_LISTED} more OpenAPI violations not listed"]
    return lines


def _pointer(parts: Iterable[Any]) -> str:
    """RFC 6901: each key with ~ as ~0 and / as ~1."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _shown_pointer(pointer: str) -> str:
    return pointer or "/"  # the whole document


def _reason(exc: BaseException) -> str:
    """Why a part could not be read or validated: a refused reference, found behind the resolver's
    wrapping of it, or else the exception itself."""
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


def _violations(spec: dict[str, Any], path: Path, loader: _FileLoader) -> list[Problem]:
    """Every violation openapi-spec-validator finds, as (JSON pointer, message): those of the
    OpenAPI schema carry their place; the semantic checks (a default against its schema, path
    parameters, operationIds) are located by the keyword validator that found them (_located)."""
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import ValidatorDetectError

    try:
        detected: Any = get_validator_cls(spec)
    except ValidatorDetectError:
        version = "/swagger" if "swagger" in spec else "/openapi"
        return [(version, f"unsupported version {spec.get(version[1:])!r}: not validated")]
    found: list[Problem] = []
    try:
        validator = _located(detected)(_schema_path(spec, path, loader))
        for error in validator.iter_errors():
            found.append((_pointer(error.path), str(error.message)))
    except Exception as exc:  # the validator and resolver raise many kinds; each is this document's fault
        found.append(("", f"validation stopped: {_reason(exc)}"))
    return found


@cache
def _located(validator_cls: Any) -> Any:
    """``validator_cls`` whose keyword validators put the place of what they check before the path of
    each error they find (only the innermost one: it knows the place), and turn what they cannot
    check (a reference refused, a node of the wrong kind) into an error there, so that the rest of
    the document is still checked."""
    from jsonschema_path import SchemaPath
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
    from openapi_spec_validator.validation.keywords import ValueValidator

    def locating(keyword_cls: type[Any]) -> type[Any]:
        # A ValueValidator checks the value of the schema's ``default`` (its only use).
        below = ("default",) if issubclass(keyword_cls, ValueValidator) else ()

        def __call__(self: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            node = next((a for a in args if isinstance(a, SchemaPath)), None)
            place = [*node.parts, *below] if node is not None else []
            try:
                for error in keyword_cls.__call__(self, *args, **kwargs):
                    if not getattr(error, "apiinv_located", False):
                        error.path.extendleft(reversed(place))
                        setattr(error, "apiinv_located", True)  # noqa: B010 (not an attribute it declares)
                    yield error
            except RecursionError:
                raise  # a chain of references: every node along it would fail the same way, slowly
            except Exception as exc:
                failure = OpenAPIValidationError(f"cannot be checked: {_reason(exc)}", path=place)
                setattr(failure, "apiinv_located", True)  # noqa: B010
                yield failure

        return type(keyword_cls.__name__, (keyword_cls,), {"__call__": __call__})

    keywords = {name: locating(cls) for name, cls in validator_cls.keyword_validators.items()}
    members: dict[str, Any] = {"keyword_validators": keywords}
    uncached = _under_the_cache(validator_cls.iter_errors)
    if uncached is not None:

        def iter_errors(self: Any) -> Iterator[Any]:
            return iter(uncached(self))

        members["iter_errors"] = iter_errors
    return type(validator_cls.__name__, (validator_cls,), members)


def _under_the_cache(method: Any) -> Any:
    """What ``method`` caches, called directly; None if it caches nothing. openapi-spec-validator 0.9
    keeps each validator's errors in a process-wide ``lru_cache`` keyed by the validator, so every
    document it ever validated (with its resolved references) stayed in memory for the rest of the
    run: 1,638 documents at 10,000 APIs, all through process and export."""
    while method is not None and not hasattr(method, "cache_clear"):
        method = getattr(method, "__wrapped__", None)
    return getattr(method, "__wrapped__", None)


# What the inventory reads of each level of a document (openapi.py), kept in the raw file.
OWNER_KEYS = (*openapi.OWNER_KEYS, *openapi.TEAM_KEYS)
DOCUMENT_KEYS = ("openapi", "swagger", "info", "servers", "host", "basePath", "schemes", "security")
ITEM_KEYS = ("servers", *OWNER_KEYS)
OPERATION_KEYS = ("security", "servers", "tags", "operationId", "deprecated", *OWNER_KEYS)
SCHEME_KEYS = ("type", "scheme", "bearerFormat")


def _readable(spec: dict[str, Any], path: Path, loader: _FileLoader) -> tuple[dict[str, Any], list[Problem]]:
    """What the inventory needs of a document, every reference resolved (so processing works offline
    on the raw file alone), and each part that could not be read, as (JSON pointer, why): a path item,
    an operation or a value that is no mapping where one belongs, or whose reference is refused or
    broken, is left out and the rest is kept."""
    reader = _Reader()
    root = _schema_path(spec, path, loader)
    compact = reader.kept(root, (*DOCUMENT_KEYS, *OWNER_KEYS)) or {}
    paths: dict[str, dict[str, Any]] = {}
    for name, item in reader.entries(root / "paths") or []:
        if (readable := reader.kept(item, ITEM_KEYS)) is not None:
            operations = [(m, op) for m, op in reader.entries(item) or [] if m in openapi.METHODS]
            readable |= {
                m: found for m, op in operations if (found := reader.kept(op, OPERATION_KEYS)) is not None
            }
            paths[name] = readable
    compact["paths"] = paths
    if "swagger" in spec:
        compact["securityDefinitions"] = reader.schemes(root, "securityDefinitions")
    else:
        compact["components"] = {"securitySchemes": reader.schemes(root, "components", "securitySchemes")}
    return compact, reader.skipped


class _Reader:
    """Reads the nodes of a document (references followed), noting each it cannot read in ``skipped``."""

    def __init__(self) -> None:
        self.skipped: list[Problem] = []

    def entries(self, node: Any) -> list[tuple[str, Any]] | None:
        """(key, node) of each entry of the mapping at ``node``; None when it is none or cannot be read."""
        try:
            if isinstance(node.read_value(), Mapping):
                return [(str(key), child) for key, child in node.items()]
            self.skipped.append((_pointer(node.parts), "not a mapping"))
        except Exception as exc:  # the resolver raises many kinds; each is this part's fault
            self.skipped.append((_pointer(node.parts), _reason(exc)))
        return None

    def kept(self, node: Any, keys: Iterable[str]) -> dict[str, Any] | None:
        """The values of ``keys`` in the mapping at ``node``, each that cannot be read left out."""
        if (children := self.entries(node)) is None:
            return None
        found = {}
        for key, child in children:
            if key in keys:
                try:
                    found[key] = child.read_value()
                except Exception as exc:
                    self.skipped.append((_pointer(child.parts), _reason(exc)))
        return found

    def schemes(self, root: Any, *keys: str) -> dict[str, Any]:
        """The security schemes below ``keys``: what openapi.scheme_type reads of each."""
        node = root
        for key in keys:
            node = dict(self.entries(node) or []).get(key)
            if node is None:
                return {}
        entries = self.entries(node) or []
        return {
            name: found for name, scheme in entries if (found := self.kept(scheme, SCHEME_KEYS)) is not None
        }


def counts(raw: dict[str, Any]) -> dict[str, int]:
    documents = [as_dict(d) for d in as_list(raw.get("documents"))]
    return {
        "documents": len(documents),
        "operations": sum(1 for d in documents for _ in openapi.operations(d)),
        "other_files": other if isinstance(other := raw.get("other_files"), int) else 0,
    }


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    instance, collected = raw["tool"], raw.get("collected_at")
    for spec in map(as_dict, as_list(as_dict(raw["data"]).get("documents"))):
        info = as_dict(spec.get("info"))
        schemes = openapi.security_schemes(spec)
        for path, method, operation, item in openapi.operations(spec):
            required, types = openapi.auth(operation.get("security", spec.get("security")), schemes)
            for scheme, host, base_path in openapi.servers(spec, item, operation):
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
    simulator="apiinv.sandbox.openapi_specs",
    incremental=True,
)
