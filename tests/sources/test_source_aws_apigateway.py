"""aws_apigateway: boto3 against moto's server on 127.0.0.1 (real HTTP, real request signing)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import RUN_DATE, fetch

from apiinv.config import ToolConfig
from apiinv.pipeline.collect import collect_tool
from apiinv.sandbox.launch import Sandbox
from apiinv.sources import aws_apigateway
from apiinv.store import Store, read_json

pytest.importorskip("moto")
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000000"


@pytest.fixture
def moto_server():
    import logging

    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    requests.post(f"http://{host}:{port}/moto-api/reset", timeout=30)  # moto keeps one state per process
    yield f"http://{host}:{port}"
    server.stop()


def clients(url: str, region: str):
    import boto3

    keys = {"aws_access_key_id": "AKIATEST", "aws_secret_access_key": "test-secret"}
    return (
        boto3.client("apigateway", region_name=region, endpoint_url=url, **keys),
        boto3.client("apigatewayv2", region_name=region, endpoint_url=url, **keys),
    )


def tool(url: str, regions: list[str]) -> ToolConfig:
    return ToolConfig(
        name="aws",
        type="aws_apigateway",
        base_url="",
        auth_type="aws",
        rate_limit=None,
        max_retries=1,
        credentials={"access_key_id": "AKIATEST", "secret_access_key": "test-secret"},
        settings={"regions": regions, "endpoint_url": url},
    )


def collect(config: ToolConfig, tmp_path: Path):
    store = Store(tmp_path / "out")
    outcome = collect_tool(config, store.at(RUN_DATE), use_cache=False)
    path = store.raw_path(RUN_DATE, config.name)
    return outcome, (read_json(path) if path.exists() else None)


def by_key(raw: dict) -> dict[str, dict]:
    return {r["endpoint_key"]: r for r in aws_apigateway.normalize(raw)}


def test_rest_api_methods_authorizers_keys_proxies_stages_and_domains(moto_server, tmp_path: Path) -> None:
    v1, _ = clients(moto_server, "eu-west-1")
    rest_id = v1.create_rest_api(name="orders")["id"]
    root = v1.get_resources(restApiId=rest_id)["items"][0]["id"]
    orders = v1.create_resource(restApiId=rest_id, parentId=root, pathPart="orders")["id"]
    one = v1.create_resource(restApiId=rest_id, parentId=orders, pathPart="{id}")["id"]
    proxy = v1.create_resource(restApiId=rest_id, parentId=root, pathPart="{proxy+}")["id"]
    methods = [
        (orders, "GET", {"authorizationType": "NONE", "apiKeyRequired": True}),
        (orders, "POST", {"authorizationType": "COGNITO_USER_POOLS"}),
        (one, "GET", {"authorizationType": "CUSTOM"}),
        (one, "DELETE", {"authorizationType": "NONE"}),
        (proxy, "ANY", {"authorizationType": "AWS_IAM"}),
    ]
    for resource, verb, auth in methods:
        v1.put_method(restApiId=rest_id, resourceId=resource, httpMethod=verb, **auth)
        v1.put_integration(restApiId=rest_id, resourceId=resource, httpMethod=verb, type="MOCK")
    v1.create_deployment(restApiId=rest_id, stageName="prod")
    v1.create_domain_name(domainName="shop.acme.example", certificateArn=CERTIFICATE)
    v1.create_base_path_mapping(
        domainName="shop.acme.example", restApiId=rest_id, basePath="api", stage="prod"
    )
    outcome, raw = collect(tool(moto_server, ["eu-west-1"]), tmp_path)
    assert outcome.ok, outcome.summary()
    assert raw["counts"] == {"rest_apis": 1, "methods": 5, "http_apis": 0, "routes": 0, "domain_names": 1}
    found = by_key(raw)
    execute_api = f"{rest_id}.execute-api.eu-west-1.amazonaws.com/prod"
    for host in ("shop.acme.example/api", execute_api):
        assert found[f"GET {host}/orders"]["auth_types"] == ["api_key"]  # a required key alone counts
        assert found[f"POST {host}/orders"]["auth_types"] == ["cognito"]
        assert found[f"GET {host}/orders/{{}}"]["auth_types"] == ["lambda_authorizer"]
        assert not found[f"DELETE {host}/orders/{{}}"]["auth_required"]
        catch_all = found[f"* {host}/{{}}"]  # ANY on a greedy {proxy+}: its template kept, marked greedy
        assert catch_all["path"] == "/{proxy+}" and catch_all["path_match"] == "greedy"
        assert catch_all["auth_types"] == ["aws_iam"] and "rest" in catch_all["tags"]
    assert all(r["status"] == "deployed" and r["environment"] == "eu-west-1" for r in found.values())
    assert outcome.stats["requests"] >= 5  # every SDK call paced and counted like any other request


def test_greedy_proxies_read_from_api_gateway_serve_what_api_gateway_routes_to_them(
    moto_server, tmp_path: Path
) -> None:
    """A REST API with a root /{proxy+}, a sibling /orders (GET only) and a nested
    /users/{id}/files/{proxy+}, read over HTTP and merged with traffic: each request is attributed to
    the one resource API Gateway gives it (its auth types say which), the rest are shadow endpoints."""
    from apiinv.analysis.findings import find
    from apiinv.analysis.merge import merge
    from apiinv.config import Analysis
    from apiinv.inventory.keys import endpoint_key
    from apiinv.inventory.records import make_record

    v1, _ = clients(moto_server, "eu-west-1")
    rest_id = v1.create_rest_api(name="shop")["id"]
    ids = {"/": v1.get_resources(restApiId=rest_id)["items"][0]["id"]}
    for path in (
        "/{proxy+}",
        "/orders",
        "/users",
        "/users/{id}",
        "/users/{id}/files",
        "/users/{id}/files/{proxy+}",
    ):
        parent, _, part = path.rpartition("/")
        ids[path] = v1.create_resource(restApiId=rest_id, parentId=ids[parent or "/"], pathPart=part)["id"]
    for path, verb, auth in [
        ("/{proxy+}", "ANY", "AWS_IAM"),
        ("/orders", "GET", "COGNITO_USER_POOLS"),
        ("/users/{id}/files/{proxy+}", "ANY", "CUSTOM"),
    ]:
        v1.put_method(restApiId=rest_id, resourceId=ids[path], httpMethod=verb, authorizationType=auth)
        v1.put_integration(restApiId=rest_id, resourceId=ids[path], httpMethod=verb, type="MOCK")
    v1.create_deployment(restApiId=rest_id, stageName="prod")
    v1.create_domain_name(domainName="shop.acme.example", certificateArn=CERTIFICATE)
    v1.create_base_path_mapping(
        domainName="shop.acme.example", restApiId=rest_id, basePath="shop", stage="prod"
    )
    outcome, raw = collect(tool(moto_server, ["eu-west-1"]), tmp_path)
    assert outcome.ok, outcome.summary()
    seen = [
        ("GET", "/shop/users/7/files/2026/a.txt"),
        ("GET", "/shop/users/7/photos/a.jpg"),
        ("GET", "/shop/users/7/files"),
        ("GET", "/shop/orders"),
        ("POST", "/shop/orders"),
        ("GET", "/shop/orders/123"),
        ("GET", "/shop/food/dry"),
    ]
    traffic = [
        make_record(
            tool="cequence",
            instance="cequence",
            collected_at=None,
            api_id="t",
            api_name=None,
            host="shop.acme.example",
            base_path="",
            method=method,
            path=path,
            status="active",
        )
        for method, path in seen
    ]
    records = [*aws_apigateway.normalize(raw), *traffic]
    roles = {"aws": "gateway", "cequence": "traffic"}
    merged = {r["endpoint_key"]: r for r in merge(records, roles=roles)}
    shadow = {
        r["endpoint_key"]
        for r in find(
            list(merged.values()), records, Analysis(), now=datetime(2026, 11, 24, tzinfo=UTC), roles=roles
        )["shadow"]
    }
    served = {
        (method, path): merged[endpoint_key(method, "shop.acme.example", "", path)]["auth_types"] or None
        for method, path in seen
        if endpoint_key(method, "shop.acme.example", "", path) not in shadow
    }
    assert served == {
        ("GET", "/shop/users/7/files/2026/a.txt"): ["lambda_authorizer"],
        ("GET", "/shop/orders"): ["cognito"],
        ("GET", "/shop/food/dry"): ["aws_iam"],
    }


def test_http_apis_routes_jwt_default_route_and_multi_level_mappings(moto_server, tmp_path: Path) -> None:
    _, v2 = clients(moto_server, "us-east-1")
    api_id = v2.create_api(Name="items", ProtocolType="HTTP")["ApiId"]
    jwt = v2.create_authorizer(
        ApiId=api_id,
        AuthorizerType="JWT",
        Name="jwt",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Audience": ["a"], "Issuer": "https://issuer.example"},
    )["AuthorizerId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", AuthorizationType="JWT", AuthorizerId=jwt)
    v2.create_route(ApiId=api_id, RouteKey="POST /items", AuthorizationType="AWS_IAM")
    v2.create_route(ApiId=api_id, RouteKey="$default")
    v2.create_stage(ApiId=api_id, StageName="$default")
    v2.create_domain_name(DomainName="items.acme.example")
    v2.create_api_mapping(
        DomainName="items.acme.example", ApiId=api_id, Stage="$default", ApiMappingKey="store/v2"
    )
    socket = v2.create_api(
        Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    for key in ("$connect", "$disconnect", "send"):
        v2.create_route(ApiId=socket["ApiId"], RouteKey=key)
    v2.create_stage(ApiId=socket["ApiId"], StageName="live")
    outcome, raw = collect(tool(moto_server, ["us-east-1"]), tmp_path)
    assert outcome.ok, outcome.summary()
    found = by_key(raw)
    assert found["GET items.acme.example/store/v2/items/{}"]["auth_types"] == ["jwt"]
    assert found["POST items.acme.example/store/v2/items"]["auth_types"] == ["aws_iam"]
    default = found["* items.acme.example/store/v2"]
    assert default["path_match"] == "prefix" and not default["auth_required"]
    assert (
        f"GET {api_id}.execute-api.us-east-1.amazonaws.com/items/{{}}" in found
    )  # $default stage: no prefix
    chat = [r for r in found.values() if r["api_name"] == "chat"]
    assert len(chat) == 1 and chat[0]["host"] == f"{socket['ApiId']}.execute-api.us-east-1.amazonaws.com"


def test_every_region_is_listed_and_a_region_that_fails_fails_the_tool(moto_server, tmp_path: Path) -> None:
    for region in ("eu-west-1", "ap-southeast-2"):
        _, v2 = clients(moto_server, region)
        api_id = v2.create_api(Name=f"api-{region}", ProtocolType="HTTP")["ApiId"]
        v2.create_route(ApiId=api_id, RouteKey="GET /ping")
        v2.create_stage(ApiId=api_id, StageName="$default")
    outcome, raw = collect(tool(moto_server, ["eu-west-1", "ap-southeast-2"]), tmp_path)
    assert outcome.ok and sorted(raw["data"]["regions"]) == ["ap-southeast-2", "eu-west-1"]
    assert {r["environment"] for r in aws_apigateway.normalize(raw)} == {"eu-west-1", "ap-southeast-2"}
    down = dataclasses.replace(tool("http://127.0.0.1:9", ["eu-west-1"]), timeout=2)
    outcome, raw = collect(down, tmp_path / "down")
    assert not outcome.ok and raw is None
    assert outcome.error is not None and "AWS: EndpointConnectionError" in outcome.error.message


def test_an_api_on_api_gateway_merges_with_traffic_and_specs_and_is_no_shadow(cli, sandbox) -> None:
    day = str(RUN_DATE)
    result = cli("--date", day, "run", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    assert "aws_apigateway: ok:" in result.output
    report = json.loads((cli.output / day / f"api-inventory-{day}.json").read_text())
    on_aws = [r for r in report["records"] if "aws_apigateway" in r["tools"] and "cequence" in r["tools"]]
    assert on_aws, "legacy APIs on API Gateway are seen in traffic on the same hosts and paths"
    shadow = {r["endpoint_key"] for r in report["findings"]["shadow"]}
    assert not shadow & {r["endpoint_key"] for r in on_aws}


def test_role_arn_is_assumed_and_its_credentials_list_the_apis(moto_server, tmp_path: Path) -> None:
    _, v2 = clients(moto_server, "eu-west-1")
    api_id = v2.create_api(Name="assumed", ProtocolType="HTTP")["ApiId"]
    v2.create_route(ApiId=api_id, RouteKey="GET /ping")
    settings = {"regions": ["eu-west-1"], "endpoint_url": moto_server, "sts_endpoint_url": moto_server}
    role = {**settings, "role_arn": "arn:aws:iam::123456789012:role/apiinv-reader"}
    outcome, raw = collect(dataclasses.replace(tool(moto_server, []), settings=role), tmp_path)
    assert outcome.ok, outcome.summary()
    assert [a["Name"] for a in raw["data"]["regions"]["eu-west-1"]["apis"]] == ["assumed"]
    unreachable = {**role, "sts_endpoint_url": "http://127.0.0.1:9"}
    failed, _ = collect(
        dataclasses.replace(tool(moto_server, []), settings=unreachable, timeout=2), tmp_path / "sts-down"
    )
    assert not failed.ok and failed.error is not None and failed.error.code == "DATA_COLLECTION_ERROR"
    assert "AWS: EndpointConnectionError" in failed.error.message


class ThrottlingProxy:
    """Between boto3 and moto: every ``every``-th request is answered as API Gateway's control plane
    answers a burst (429, TooManyRequestsException); the others go through to moto unchanged."""

    def __init__(self, upstream: str, every: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        proxy = self
        self.seen = self.throttled = 0
        self.paths: list[str] = []  # every request's path, in order
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with proxy._lock:
                    proxy.seen += 1
                    proxy.paths.append(self.path)
                    refuse = proxy.seen % every == 0
                    proxy.throttled += refuse
                if refuse:
                    payload = b'{"message": "Too Many Requests"}'
                    self.send_response(429)
                    self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(
                    self.command, upstream + self.path, headers=headers, data=body, timeout=30
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_throttling_is_retried_and_the_listing_is_whole(moto_server, tmp_path: Path) -> None:
    """API Gateway allows a few control-plane calls a second: a TooManyRequestsException is retried
    (botocore's adaptive mode) and the collection equals one that was never throttled; with no retries
    left the tool fails and says so."""
    v1, v2 = clients(moto_server, "eu-west-1")
    for name in ("orders", "billing", "stock"):
        rest_id = v1.create_rest_api(name=name)["id"]
        root = v1.get_resources(restApiId=rest_id)["items"][0]["id"]
        v1.put_method(restApiId=rest_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
        v1.put_integration(restApiId=rest_id, resourceId=root, httpMethod="GET", type="MOCK")
        v1.create_deployment(restApiId=rest_id, stageName="prod")
        api_id = v2.create_api(Name=f"{name}-http", ProtocolType="HTTP")["ApiId"]
        v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}")
        v2.create_stage(ApiId=api_id, StageName="$default")
    _, direct = collect(tool(moto_server, ["eu-west-1"]), tmp_path / "direct")
    proxy = ThrottlingProxy(moto_server, every=3)
    try:
        patient = dataclasses.replace(tool(proxy.url, ["eu-west-1"]), max_retries=4)
        outcome, raw = collect(patient, tmp_path / "throttled")
        assert outcome.ok, outcome.summary()
        assert proxy.throttled >= 3
        assert sorted(by_key(raw)) == sorted(by_key(direct)) and raw["counts"] == direct["counts"]

        hasty = dataclasses.replace(tool(proxy.url, ["eu-west-1"]), max_retries=0)
        proxy.seen = 2  # the very next call is throttled
        outcome, _ = collect(hasty, tmp_path / "hasty")
        assert not outcome.ok and "TooManyRequests" in outcome.error.message
    finally:
        proxy.close()


def test_an_api_keeps_its_id_from_one_day_to_the_next(tmp_path: Path) -> None:
    """As on AWS: the execute-api host (its id) of an API the estate kept is the same the next day,
    so a daily diff shows no API Gateway endpoint as removed and added again."""
    from datetime import timedelta

    with Sandbox(size=60, seed=3, day=RUN_DATE, only=["aws_apigateway"]) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        _, first = fetch(sandbox, "aws_apigateway", tmp_path / "one")
        sandbox.set_date(RUN_DATE + timedelta(days=1))
        _, second = fetch(sandbox, "aws_apigateway", tmp_path / "two")
    ids = [{r["api_name"]: r["api_id"] for r in aws_apigateway.normalize(raw)} for raw in (first, second)]
    kept = ids[0].keys() & ids[1].keys()
    assert len(kept) >= 5 and all(ids[0][name] == ids[1][name] for name in kept)


def test_the_demo_estate_has_greedy_proxies_at_the_root_and_nested(tmp_path: Path) -> None:
    """The simulator's REST APIs hold the greedy shapes the AWS router judges: one nested under a
    parameter (.../{orderId}/files/{proxy+}) and a root /{proxy+} beside the APIs' own resources (its
    non-proxy siblings); each read back with its template, as greedy."""
    with Sandbox(size=60, seed=3, day=RUN_DATE, only=["aws_apigateway"]) as sandbox:
        sandbox.config_dir = sandbox.write_config(tmp_path / "sb")
        _, raw = fetch(sandbox, "aws_apigateway", tmp_path / "one")
    greedy = [r for r in aws_apigateway.normalize(raw) if r["path_match"] == "greedy"]
    assert all(r["path"].endswith("/{proxy+}") and r["method"] == "*" for r in greedy)
    assert any(r["path"] == "/{proxy+}" for r in greedy)
    assert any(r["path"].endswith("}/files/{proxy+}") for r in greedy)


# ------------------------------------------------------------------ a hostile API Gateway endpoint


def hostile_account(server, **routes) -> None:
    """An empty account (no APIs, no domains) on the hostile server; ``routes`` replace its answers,
    keyed by the path of the SDK call (``/v2/apis``), or add new ones. On the wire both APIs name their
    fields in camel case (``items``, ``nextToken``, ``domainName``)."""
    for path in ("/restapis", "/domainnames", "/v2/apis", "/v2/domainnames"):
        server.route(path, lambda handler: handler.send_json({"items": []}))
    for path, route in routes.items():
        server.route(path, route)


def collect_within(seconds: float, config: ToolConfig, tmp_path: Path):
    """collect() that fails the test, rather than hanging it, when the tool does not finish in time."""
    import threading

    done: list = []
    worker = threading.Thread(target=lambda: done.append(collect(config, tmp_path)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert done, f"the collection was still running after {seconds:g}s"
    return done[0]


def calls(server, path: str) -> int:
    return sum(1 for r in server.received if r["path"].split("?")[0] == path)


def page(token_name: str, answer):
    """A listing route whose next token is ``answer(the token asked for, or None)``."""
    from urllib.parse import parse_qs, urlsplit

    def route(handler) -> None:
        asked = parse_qs(urlsplit(handler.path).query).get(token_name, [None])[0]
        handler.send_json({"items": [], token_name: answer(asked)})

    return route


MAPPINGS = "/v2/domainnames/items.acme.example/apimappings"


@pytest.mark.parametrize(
    ("path", "routes", "listing", "requests"),
    [
        # get_api_mappings has no paginator in botocore: it was followed by hand, for ever
        (
            MAPPINGS,
            {
                "/v2/domainnames": lambda h: h.send_json({"items": [{"domainName": "items.acme.example"}]}),
                MAPPINGS: page("nextToken", lambda asked: "again"),
            },
            "GetApiMappings(DomainName=items.acme.example) in eu-west-1",
            2,  # the first page, then the token "again", answered with itself
        ),
        # botocore's paginator notices a token repeated at once, not a cycle of two
        (
            "/restapis",
            {"/restapis": page("position", lambda asked: "b" if asked == "a" else "a")},
            "GetRestApis in eu-west-1",
            3,  # the first page, "a", "b" (answered with "a" again)
        ),
    ],
)
def test_a_listing_whose_server_repeats_its_page_token_makes_the_tool_truncated(
    path: str, routes: dict, listing: str, requests: int, tmp_path: Path
) -> None:
    """A server cycling through page tokens is asked each token once: the tool is truncated (its
    listing would be incomplete, so nothing is written), naming the listing; it never loops."""
    from hostile_api import HostileServer

    with HostileServer() as server:
        hostile_account(server, **routes)
        outcome, raw = collect_within(10, tool(server.url, ["eu-west-1"]), tmp_path)
        asked = calls(server, path)
    assert outcome.status == "truncated" and raw is None
    assert outcome.error is not None and outcome.error.code == "TRUNCATED"
    assert listing in outcome.summary() and "cycling" in outcome.summary()
    assert asked == requests  # each token asked for once


def test_a_listing_past_max_pages_makes_the_tool_truncated(tmp_path: Path) -> None:
    """A listing that never ends (a new token on every page) stops at the tool's max_pages, like every
    other listing: the tool is truncated and the listing named."""
    from hostile_api import HostileServer

    with HostileServer() as server:
        hostile_account(server, **{"/v2/apis": page("nextToken", lambda asked: f"{asked}+")})
        capped = dataclasses.replace(tool(server.url, ["us-east-1"]), max_pages=3)
        outcome, raw = collect_within(10, capped, tmp_path)
        asked = calls(server, "/v2/apis")
    assert outcome.status == "truncated" and raw is None
    assert "GetApis in us-east-1" in outcome.summary() and "raise max_pages (3)" in outcome.summary()
    assert asked == 3


def test_an_answer_still_arriving_after_request_deadline_fails_the_tool_quickly(tmp_path: Path) -> None:
    """Each byte comes well within the socket timeout, the whole answer never within request_deadline:
    the tool fails with RESPONSE_LIMIT after about request_deadline, without retrying."""
    from hostile_api import HostileServer

    body = b'{"items": []}' + b" " * 400  # 20 s at a byte every 50 ms
    with HostileServer() as server:
        hostile_account(server, **{"/v2/apis": lambda h: h.drip(body, every=0.05)})
        slow = dataclasses.replace(tool(server.url, ["eu-west-1"]), timeout=5, request_deadline=1)
        # The whole answer takes 20 s: ended within 6, by the request's own deadline (named below).
        outcome, _ = collect_within(6, slow, tmp_path)
        asked = calls(server, "/v2/apis")
    assert not outcome.ok and outcome.error is not None and outcome.error.code == "RESPONSE_LIMIT"
    assert "request_deadline 1s" in outcome.summary() and "/v2/apis" in outcome.summary()
    assert asked == 1


BIG = b'{"items": [], "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'


def big_declared(handler) -> None:
    handler.send_bytes(BIG)


def big_chunked(handler) -> None:
    """BIG with no Content-Length: its size is only known by reading it."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    try:
        for start in range(0, len(BIG), 65536):
            part = BIG[start : start + 65536]
            handler.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")
    except OSError:
        pass  # the client stopped reading: what the test wants


@pytest.mark.parametrize("route", [big_declared, big_chunked])
def test_an_answer_over_max_response_mb_fails_the_tool(route, tmp_path: Path) -> None:
    """A 2 MB listing with max_response_mb 1 is refused, its size declared or only known by reading it."""
    from hostile_api import HostileServer

    with HostileServer() as server:
        hostile_account(server, **{"/v2/apis": route})
        small = dataclasses.replace(tool(server.url, ["eu-west-1"]), max_response_mb=1)
        outcome, raw = collect_within(10, small, tmp_path)
        asked = calls(server, "/v2/apis")
    assert not outcome.ok and raw is None
    assert outcome.error is not None and outcome.error.code == "RESPONSE_LIMIT"
    assert "max_response_mb 1" in outcome.summary() and "/v2/apis" in outcome.summary()
    assert asked == 1  # refused, not retried


def test_a_collection_past_tool_deadline_fails_naming_it(tmp_path: Path) -> None:
    """Every answer within request_deadline, the whole collection not within tool_deadline: the SDK's
    requests go through the same clock as every other tool's, so the tool stops with TOOL_DEADLINE."""
    from hostile_api import HostileServer

    body = b'{"items": []}' + b" " * 30  # about 1.5 s at a byte every 50 ms
    with HostileServer() as server:
        hostile_account(server, **{"/v2/apis": lambda h: h.drip(body, every=0.05)})
        slow = dataclasses.replace(
            tool(server.url, ["eu-west-1", "us-east-1"]), timeout=5, request_deadline=10, tool_deadline=1
        )
        # Two regions of answers dripping past 1.5 s each: ended by the tool's deadline (named below).
        outcome, _ = collect_within(8, slow, tmp_path)
    assert not outcome.ok and outcome.error is not None and outcome.error.code == "TOOL_DEADLINE"
    assert "tool_deadline 1s" in outcome.summary()


def test_an_api_whose_deployments_are_unchanged_is_not_read_again(moto_server, tmp_path: Path) -> None:
    """Day two lists APIs and their stages, but reads no resources of a REST API whose createdDate,
    version and stage deployments are the same, and the inventory is the same; a new deployment has its
    API read again the next day; --full reads everything. An API none of whose stages names a deployment
    (moto keeps no DeploymentId for an HTTP API's stage) is read every day."""
    from datetime import timedelta

    v1, v2 = clients(moto_server, "eu-west-1")
    rest_id = v1.create_rest_api(name="orders", version="1")["id"]
    root = v1.get_resources(restApiId=rest_id)["items"][0]["id"]
    v1.put_method(restApiId=rest_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    v1.put_integration(restApiId=rest_id, resourceId=root, httpMethod="GET", type="MOCK")
    v1.create_deployment(restApiId=rest_id, stageName="prod")
    http_id = v2.create_api(Name="stock", ProtocolType="HTTP")["ApiId"]
    v2.create_route(ApiId=http_id, RouteKey="GET /items/{id}")
    v2.create_stage(ApiId=http_id, StageName="live")
    store = Store(tmp_path / "out")
    counting = ThrottlingProxy(moto_server, every=10**9)
    config = tool(counting.url, ["eu-west-1"])

    def collect_on(days: int, full: bool = False) -> tuple[list[str], dict, list[str]]:
        counting.paths.clear()
        day = store.at(RUN_DATE + timedelta(days=days))
        outcome = collect_tool(config, day, use_cache=False, full=full)
        assert outcome.ok, outcome.summary()
        raw = read_json(day.raw_path(config.name))
        paths = [path.split("?")[0] for path in counting.paths]
        read = [path for path in paths if path.endswith(("/resources", "/routes"))]
        return read, outcome.stats, sorted(by_key(raw))

    try:
        first, _, records = collect_on(0)
        first.sort()
        assert first == [f"/restapis/{rest_id}/resources", f"/v2/apis/{http_id}/routes"]
        read, stats, again = collect_on(1)
        assert (read, stats["reused"], again) == ([f"/v2/apis/{http_id}/routes"], 1, records)

        orders = v1.create_resource(restApiId=rest_id, parentId=root, pathPart="orders")["id"]
        v1.put_method(restApiId=rest_id, resourceId=orders, httpMethod="POST", authorizationType="NONE")
        v1.put_integration(restApiId=rest_id, resourceId=orders, httpMethod="POST", type="MOCK")
        v1.create_deployment(restApiId=rest_id, stageName="prod")
        read, stats, changed = collect_on(2)
        assert (sorted(read), stats["reused"]) == (first, 0)
        assert f"POST {rest_id}.execute-api.eu-west-1.amazonaws.com/prod/orders" in changed

        assert len(collect_on(3, full=True)[0]) == 2
    finally:
        counting.close()
