"""AWS API Gateway, played by moto's server on 127.0.0.1 (the AWS SDK speaks real HTTP to it): two in
three of the estate's legacy APIs run there, REST APIs in eu-west-1 (one per legacy host) and HTTP APIs
in us-east-1, behind custom domains (the hosts the traffic sees) mapped at their base paths, with the
authorization the estate gives them on the date. Needs moto (the ``demo`` extra); without it the
sandbox says so and goes on."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from pathlib import Path
from typing import Any

from apiinv.sandbox.common import Simulator as SandboxSimulator
from apiinv.sandbox.common import SimulatorUnavailable
from apiinv.sandbox.estate import (
    AWS_REST_REGION,
    Api,
    Operation,
    aws_greedy_resources,
    aws_root_proxy,
    execute_api_host,
)

REGIONS = {"rest": AWS_REST_REGION, "http": "us-east-1"}
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000"


class Simulator(SandboxSimulator):
    def __init__(self, sandbox: Any) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise SimulatorUnavailable("moto is not installed (pip install 'apiinv[demo]')") from None
        super().__init__(sandbox, None)
        self._server_class = ThreadedMotoServer
        self.endpoint = ""
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)

    def start(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = self._server_class(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._reset()  # moto keeps one state per process: start from an empty account
        self.populate()
        return self.endpoint

    def _reset(self) -> None:
        import requests

        requests.post(f"{self.endpoint}/moto-api/reset", timeout=30)

    def stop(self) -> None:
        if self.server is not None:
            # werkzeug notices a shutdown only at its next half-second poll: nobody needs to wait for it.
            threading.Thread(target=self.server.stop, daemon=True).start()
            self.server = None

    def set_date(self, day: Any) -> None:
        if self.server is not None:
            self._reset()
            self.populate()

    def inject(self, kind: str, **options: Any) -> None:
        """Any fault: API Gateway answers nothing (the server stops)."""
        self.stop()

    def _clients(self, service: str, region: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def _seed(self, name: str) -> None:
        """moto draws API ids at random: seeded per API, an API keeps its id from day to day, as on AWS
        (its execute-api host is part of its endpoints' keys)."""
        import requests

        requests.post(f"{self.endpoint}/moto-api/seed", params={"a": stable_number(name)}, timeout=30)

    def populate(self) -> None:
        day = self.sandbox.estate.day_number(self.sandbox.day)
        v1 = self._clients("apigateway", REGIONS["rest"])
        v2 = self._clients("apigatewayv2", REGIONS["http"])
        rest, http = self._split()
        for host, apis in sorted(rest.items()):
            self._seed(host)
            _rest_api(v1, host, [(api, ops, api.auth_on(day)) for api, ops in apis])
        domains: set[str] = set()
        for api, ops in http:
            if api.host not in domains:
                v2.create_domain_name(DomainName=api.host)
                domains.add(api.host)
            self._seed(api.name)
            _http_api(v2, api, ops, api.auth_on(day))

    def _split(
        self,
    ) -> tuple[dict[str, list[tuple[Api, tuple[Operation, ...]]]], list[tuple[Api, tuple[Operation, ...]]]]:
        """REST APIs, one per legacy host (a monolith's APIs in one REST API mapped at the host's first
        path segment: API Gateway v1 maps single-level base paths only), and HTTP APIs, one per API."""
        day = self.sandbox.estate.on(self.sandbox.day)
        return day.on_rest_apis(), [(api, ops) for api, ops in day.on_api_gateway() if api.index % 2 == 0]

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        return {
            "auth_type": "aws",
            "rate_limit": 6000,  # moto sets no limit; the default paces real accounts' control planes
            "regions": sorted(REGIONS.values()),
            "endpoint_url": url,
            "credentials": {
                "access_key_id": "${APIINV_AWS_ACCESS_KEY_ID}",
                "secret_access_key": "${APIINV_AWS_SECRET_ACCESS_KEY}",
            },
        }

    def env(self, folder: Path) -> dict[str, str]:
        return {"APIINV_AWS_ACCESS_KEY_ID": self.access_key, "APIINV_AWS_SECRET_ACCESS_KEY": self.secret_key}

    def secrets(self) -> list[str]:
        return [self.secret_key]

    def truth(self) -> dict[str, int]:
        rest, http = self._split()
        return {
            "rest_apis": len(rest),
            "methods": sum(
                len(ops) + len(aws_greedy_resources(a, ops)) for apis in rest.values() for a, ops in apis
            )
            + sum(aws_root_proxy(apis) for apis in rest.values()),
            "http_apis": len(http),
            "routes": sum(len(ops) for _, ops in http),
            "domain_names": len(rest) + len({a.host for a, _ in http}),
        }


def stable_number(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")


def _rest_auth(auth: str | None, op: Operation) -> dict[str, Any]:
    if auth is None or op.public:
        return {"authorizationType": "NONE"}
    if auth == "apikey":
        return {"authorizationType": "NONE", "apiKeyRequired": True}
    return {"authorizationType": "COGNITO_USER_POOLS" if auth in ("oauth2", "jwt") else "CUSTOM"}


def _rest_api(v1: Any, host: str, apis: list[tuple[Api, tuple[Operation, ...], str | None]]) -> None:
    segment = apis[0][0].base_path.strip("/").split("/")[0]
    rest_id = v1.create_rest_api(
        name=host.split(".")[0],
        description=f"The {segment} monolith",
        tags={"_custom_id_": execute_api_host(host).split(".")[0]},  # the id traffic calls it by
    )["id"]
    resources = {r["path"]: r["id"] for r in v1.get_resources(restApiId=rest_id)["items"]}

    def resource(path: str) -> str:
        if path not in resources:
            parent, _, part = path.rpartition("/")
            created = v1.create_resource(restApiId=rest_id, parentId=resource(parent or "/"), pathPart=part)
            resources[path] = created["id"]
        return resources[path]

    for api, ops, auth in apis:
        below = "/" + api.base_path.strip("/").split("/", 1)[1]  # under the mapped first segment
        for op in ops:
            method = {
                "restApiId": rest_id,
                "resourceId": resource(below + op.template),
                "httpMethod": op.method,
            }
            v1.put_method(**method, **_rest_auth(auth, op))
            v1.put_integration(
                **method,
                type="HTTP_PROXY",
                integrationHttpMethod=op.method,
                uri="https://backend.acme.example",
            )
        for greedy in aws_greedy_resources(api, ops):
            v1.put_method(
                restApiId=rest_id,
                resourceId=resource(below + greedy),
                httpMethod="ANY",
                authorizationType="AWS_IAM",
            )
    if aws_root_proxy([(api, ops) for api, ops, _ in apis]):
        v1.put_method(
            restApiId=rest_id, resourceId=resource("/{proxy+}"), httpMethod="ANY", authorizationType="AWS_IAM"
        )
    v1.create_deployment(restApiId=rest_id, stageName="prod")
    v1.create_domain_name(domainName=host, certificateArn=CERTIFICATE)
    v1.create_base_path_mapping(domainName=host, restApiId=rest_id, basePath=segment, stage="prod")


def _http_api(v2: Any, api: Api, ops: tuple[Operation, ...], auth: str | None) -> None:
    # Most teams call an HTTP API by its custom domain only and turn its default endpoint off.
    api_id = v2.create_api(Name=api.name, ProtocolType="HTTP", DisableExecuteApiEndpoint=api.index % 4 != 0)[
        "ApiId"
    ]
    authorizer = None
    if auth in ("oauth2", "jwt"):
        authorizer = v2.create_authorizer(
            ApiId=api_id,
            AuthorizerType="JWT",
            Name="jwt",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Audience": ["acme"], "Issuer": "https://login.acme.example"},
        )["AuthorizerId"]
    for op in ops:
        route: dict[str, Any] = {"ApiId": api_id, "RouteKey": f"{op.method} {op.template}"}
        if auth is not None and not op.public:
            route |= (
                {"AuthorizationType": "JWT", "AuthorizerId": authorizer}
                if authorizer
                else {"AuthorizationType": "AWS_IAM"}
            )
        v2.create_route(**route)
    v2.create_stage(ApiId=api_id, StageName="$default")
    v2.create_api_mapping(
        DomainName=api.host, ApiId=api_id, Stage="$default", ApiMappingKey=api.base_path.strip("/")
    )
