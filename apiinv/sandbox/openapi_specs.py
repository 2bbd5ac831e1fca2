"""A repository checkout of OpenAPI documents: one per API that the estate documents in a repository
(some that 42Crunch also holds, some gateway APIs documented nowhere else; Swagger 2.0, OpenAPI 3.0
or 3.1, YAML or JSON, following the estate's drift), and hand-written examples: a document split over
files with external and internal references, server variables, per-operation security and owner
extensions, a Swagger 2 file, servers of a path item and of an operation (Box's shape), path
parameters inside a segment (Twilio's), and a document with schema violations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.estate import Api, Operation
from apiinv.store import make_dirs, write_atomic

SCHEMES_V3 = {
    "apikey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "oauth2": {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "https://login.acme.example/token", "scopes": {}}},
    },
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
}
SCHEMES_V2 = {
    "apikey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "oauth2": {"type": "oauth2", "flow": "application", "tokenUrl": "https://login.acme.example/token"},
    "jwt": {"type": "apiKey", "in": "header", "name": "Authorization"},
    "basic": {"type": "basic"},
}
EXAMPLES: dict[str, str] = {
    "petstore/openapi.yaml": """\
openapi: 3.1.0
info: {title: Pet store, version: "2.1.0", x-owner: Pets, x-team: Commerce}
servers:
  - url: https://{region}.pets.acme.example/v2
    variables:
      region: {default: eu, enum: [eu, us]}
security: [{apiKey: []}]
paths:
  /pets: {$ref: "paths/pets.yaml"}
  /pets/{petId}:
    parameters: [{$ref: "#/components/parameters/petId"}]
    get:
      responses: {"200": {description: one pet}}
  /health:
    get:
      security: []
      responses: {"200": {description: alive}}
components:
  parameters:
    petId: {name: petId, in: path, required: true, schema: {type: string}}
  securitySchemes:
    apiKey: {$ref: "schemes.yaml#/apiKey"}
    oauth: {$ref: "schemes.yaml#/oauth"}
""",
    "petstore/paths/pets.yaml": """\
get:
  tags: [pets]
  responses: {"200": {description: the pets}}
post:
  tags: [pets]
  x-owner: Pet admissions
  security: [{oauth: [pets:write]}]
  responses: {"201": {description: created}}
""",
    "petstore/schemes.yaml": """\
apiKey: {type: apiKey, in: header, name: X-Pets-Key}
oauth:
  type: oauth2
  flows: {clientCredentials: {tokenUrl: "https://login.acme.example/token", scopes: {"pets:write": write}}}
""",
    "legacy/orders.json": json.dumps(
        {
            "swagger": "2.0",
            "info": {"title": "Legacy orders", "version": "1.0", "x-team": "Logistics"},
            "host": "orders-legacy.acme.example",
            "basePath": "/v1",
            "schemes": ["http", "https"],
            "securityDefinitions": {"basic": {"type": "basic"}},
            "security": [{"basic": []}],
            "paths": {
                "/orders": {"get": {"responses": {"200": {"description": "orders"}}}},
                "/orders/{id}/label": {
                    "get": {
                        "security": [],
                        "parameters": [{"name": "id", "in": "path", "required": True, "type": "string"}],
                        "responses": {"200": {"description": "a printable label"}},
                    }
                },
            },
        },
        indent=2,
    ),
    # Box's shape: operations served on hosts of their own (OAS 3.0.3 sections 4.7.9, 4.7.10).
    "files/openapi.yaml": """\
openapi: 3.0.3
info: {title: Files, version: "2.0", x-team: Content}
servers: [{url: "https://api.files.acme.example/2.0"}]
security: [{oauth: []}]
paths:
  /authorize:
    get:
      servers: [{url: "https://account.files.acme.example/oauth2"}]
      security: []
      responses: {"200": {description: the consent page}}
  /files/content:
    post:
      servers: [{url: "https://upload.files.acme.example/2.0"}]
      responses: {"201": {description: uploaded}}
  /files/{file_id}:
    get:
      parameters: [{name: file_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: one file}}
  /files/{file_id}/thumbnail.{extension}:
    servers:
      - url: "{scheme}://media.files.acme.example/2.0"
        variables: {scheme: {default: https, enum: [http, https]}}
    parameters:
      - {name: file_id, in: path, required: true, schema: {type: string}}
      - {name: extension, in: path, required: true, schema: {type: string, enum: [png, jpg]}}
    get:
      responses: {"200": {description: the thumbnail}}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        authorizationCode:
          authorizationUrl: "https://account.files.acme.example/oauth2/authorize"
          tokenUrl: "https://api.files.acme.example/oauth2/token"
          scopes: {}
""",
    # Twilio's shape: path parameters inside a segment (OAS 3.0.3 section 3.2, Path Templating).
    "voice/openapi.json": json.dumps(
        {
            "openapi": "3.0.1",
            "info": {"title": "Voice", "version": "1.0", "x-team": "Telephony"},
            "servers": [{"url": "https://voice.acme.example"}],
            "security": [{"accountSid_authToken": []}],
            "components": {"securitySchemes": {"accountSid_authToken": {"type": "http", "scheme": "basic"}}},
            "paths": {
                path: {
                    "parameters": [
                        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                        for name in ("AccountSid", "Sid")
                        if "{" + name + "}" in path
                    ],
                    "get": {"responses": {"200": {"description": "OK"}}},
                }
                for path in (
                    "/2010-04-01/Accounts/{AccountSid}/Calls.json",
                    "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
                )
            },
        },
        indent=2,
    ),
    # Schema violations as real repositories hold them: each is a warning with its JSON pointer, and
    # every operation that can be read is kept (the path item written as [] and the operation that is
    # a string cannot be).
    "broken/inventory.yaml": """\
openapi: 3.0.3
info: {title: Half-written, version: "0.1", description: {$ref: "#/components/x-notes"}}
servers: [{url: "https://stock.acme.example"}]
paths:
  /stock:
    get:
      summary: responses were never written
  /stock/{sku}:
    get:
      parameters:
        - {name: sku, in: path, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, default: "ten"}}
      responses: {"200": {description: one item}}
  /stock/legacy: []
  /stock/{sku}/history:
    get: see the wiki
components:
  x-notes: {text: kept elsewhere}
""",
}
# Requests traffic sees on the examples' hosts (method, host, path, auth type as Cequence names it):
# a word where a template has a parameter (/pets/cat), a parameter inside a segment filled
# (/Calls/CA....json, /thumbnail.png), and the hosts that servers of an operation or a path item name.
EXAMPLE_TRAFFIC = (
    ("GET", "eu.pets.acme.example", "/v2/pets/cat", "API_KEY"),
    (
        "GET",
        "voice.acme.example",
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json",
        "BASIC",
    ),
    (
        "GET",
        "voice.acme.example",
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA9876543210fedcba9876543210fedcba.json",
        "BASIC",
    ),
    ("GET", "account.files.acme.example", "/oauth2/authorize", None),
    ("POST", "upload.files.acme.example", "/2.0/files/content", "OAUTH2"),
    ("GET", "media.files.acme.example", "/2.0/files/12345/thumbnail.png", "OAUTH2"),
    ("GET", "api.files.acme.example", "/2.0/files/quarterly-report", "OAUTH2"),
)
# petstore (served on two hosts), legacy orders, files (4, thumbnails on one host for http and
# https), voice (2), the readable part of broken inventory (2)
EXAMPLE_OPERATIONS = 4 + 2 + 4 + 2 + 2
EXAMPLE_DOCUMENTS = 5
EXAMPLE_OTHER_FILES = 2  # the petstore's path item and schemes: files its document refers to


def _operation(api: Api, op: Operation, auth: str | None, swagger: bool) -> dict[str, Any]:
    operation: dict[str, Any] = {"responses": {"200": {"description": "OK"}}}
    if op.params:
        parameter: dict[str, Any] = {"in": "path", "required": True}
        parameter |= {"type": "string"} if swagger else {"schema": {"type": "string"}}
        operation["parameters"] = [{"name": p, **parameter} for p in op.params]
    if op.public and auth:
        operation["security"] = []
    return operation


def document(api: Api, ops: tuple[Operation, ...], day: int) -> tuple[str, str]:
    """(file name, text) of one API's spec as its team keeps it on a date."""
    auth = api.auth_on(day)
    swagger = api.index % 3 == 0
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.template, {})[op.method.lower()] = _operation(api, op, auth, swagger)
    info = {"title": api.title, "version": f"{api.version}.0.0", "x-owner": api.team}
    spec: dict[str, Any]
    if swagger:
        spec = {
            "swagger": "2.0",
            "info": info,
            "host": api.host,
            "basePath": api.base_path,
            "schemes": ["https"],
        }
        if auth:
            spec |= {"securityDefinitions": {auth: SCHEMES_V2[auth]}, "security": [{auth: []}]}
    else:
        version = "3.0.3" if api.index % 3 == 1 else "3.1.0"
        spec = {
            "openapi": version,
            "info": info,
            "servers": [{"url": url} for url in api.servers],
        }
        if auth:
            spec |= {"components": {"securitySchemes": {auth: SCHEMES_V3[auth]}}, "security": [{auth: []}]}
    spec["paths"] = paths
    if api.index % 2:
        return f"{api.name}.json", json.dumps(spec, indent=2, ensure_ascii=False)
    return f"{api.name}.yaml", yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox, None)
        self.folder: Path | None = None
        self.gone = False

    def kept(self) -> list[tuple[Api, tuple[Operation, ...]]]:
        """The APIs whose specs live in the repository on the current date: some that 42Crunch also
        holds, and some gateway APIs whose teams never imported their spec anywhere else."""
        day = self.sandbox.estate.on(self.sandbox.day)
        also_audited = [(a, ops) for a, ops in day.in_spec() if a.index % 5 == 2]
        only_here = [
            (a, ops)
            for gateway in ("apigee", "kong")
            for a, ops in day.in_gateway(gateway)
            if not a.in_spec and a.index % 6 == 2
        ]
        return sorted(also_audited + only_here, key=lambda entry: entry[0].index)

    def write(self) -> None:
        assert self.folder is not None
        day = self.sandbox.estate.day_number(self.sandbox.day)
        shutil.rmtree(self.folder / "apis", ignore_errors=True)  # a retired API's spec is deleted
        make_dirs(self.folder / "apis")
        for api, ops in self.kept():
            name, text = document(api, ops, day)
            write_atomic(self.folder / "apis" / name, text.encode())
        for name, text in EXAMPLES.items():
            make_dirs((self.folder / "examples" / name).parent)
            write_atomic(self.folder / "examples" / name, text.encode())

    def set_date(self, day: Any) -> None:
        if self.folder is not None and not self.gone:
            self.write()

    def inject(self, kind: str, **options: Any) -> None:
        """Any fault: the checkout is gone (as when a repository clone failed)."""
        self.gone = True
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        self.folder = folder / "specs"
        self.write()
        return {"paths": ["specs"]}

    def truth(self) -> dict[str, int]:
        kept = self.kept()
        return {
            "documents": len(kept) + EXAMPLE_DOCUMENTS,
            "operations": sum(len(ops) for _, ops in kept) + EXAMPLE_OPERATIONS,
            "other_files": EXAMPLE_OTHER_FILES,
        }
