"""AWS API Gateway, through the AWS SDK (boto3): REST APIs (v1) with their resources and methods,
stages, custom domain names and base path mappings; HTTP and WebSocket APIs (v2) with their routes,
stages, custom domains and API mappings; in every region of ``regions``.

Credentials come from the standard AWS chain (environment, profile, instance role), or from
``credentials:`` (``access_key_id``, ``secret_access_key``, ``session_token``), optionally exchanged
for a role's (``role_arn``). The control plane allows only a few requests a second per account: the
tool's ``rate_limit`` paces every call and botocore's adaptive retry mode backs off on throttling.

The SDK signs each request and the tool's HTTP transport sends it (see ``_Clients.send``), so an AWS
answer is bounded like any other: whole within ``request_deadline``, at most ``max_response_mb``.
Every listing follows its page tokens within ``max_pages`` and stops at a token seen before.

Incremental: an API's stages are listed every day (one call); its resources (v1) or routes (v2), often
several pages, are reused from the last good collection while the API's ``createdDate`` and ``version``
and every stage's deployment id are the same. A stage serves a deployment, "a snapshot of the API"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-deployments.html, "Create a
deployment for a REST API in API Gateway"), and its ``deploymentId`` / ``DeploymentId`` says which
(https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/apigateway/client/get_stages.html,
.../apigatewayv2/client/get_stages.html, Response Structure); an HTTP API stage with ``AutoDeploy``
deploys each change. What is reused is what the API held at its last collection: an edit that is neither
deployed nor versioned shows with its next deployment or on ``--full``. An API with no deployed stage is
always read whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from apiinv.errors import CollectionError, MissingSecretError
from apiinv.inventory.records import as_dict, as_list, as_text, make_record
from apiinv.redact import register_secret
from apiinv.sources.base import Source

if TYPE_CHECKING:
    from apiinv.config import ToolConfig
    from apiinv.http.client import HttpClient
    from apiinv.sources.base import FetchContext

SETTINGS_SCHEMA: dict[str, Any] = {
    "regions": {
        "description": "AWS regions whose API Gateway APIs are listed.",
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-\\d$"},
    },
    "endpoint_url": {
        "description": "Another endpoint for both API Gateway APIs (private endpoints, tests).",
        "type": "string",
        "pattern": "^https?://\\S+$",
    },
    "role_arn": {"description": "A role to assume for the listing.", "type": "string"},
    "sts_endpoint_url": {
        "description": "Another endpoint for STS when assuming role_arn (VPC endpoints, tests).",
        "type": "string",
        "pattern": "^https?://\\S+$",
    },
    "profile": {"description": "A profile of the AWS configuration files.", "type": "string"},
}
# The page token of every listing, as botocore's paginator data names it: REST APIs (v1) page by
# ``position``; HTTP and WebSocket APIs (v2) by ``NextToken``, get_api_mappings included (no paginator).
PAGE_TOKENS = {"apigateway": "position", "apigatewayv2": "NextToken"}
T = TypeVar("T")
AUTH_KINDS = {
    "AWS_IAM": "aws_iam",
    "CUSTOM": "lambda_authorizer",
    "COGNITO_USER_POOLS": "cognito",
    "JWT": "jwt",
}


def _session(tool: ToolConfig, config: Any, send: Callable[..., Any]) -> Any:
    import boto3
    import botocore.exceptions

    credentials = tool.credentials
    try:
        session = boto3.Session(
            aws_access_key_id=credentials.get("access_key_id"),
            aws_secret_access_key=credentials.get("secret_access_key"),
            aws_session_token=credentials.get("session_token"),
            profile_name=tool.settings.get("profile"),
        )
        role = tool.settings.get("role_arn")
        if role:
            sts = session.client(
                "sts",
                region_name=tool.settings["regions"][0],
                endpoint_url=tool.settings.get("sts_endpoint_url"),
                config=config,
            )
            sts.meta.events.register("before-send", send)
            assumed = sts.assume_role(RoleArn=role, RoleSessionName="apiinv")["Credentials"]
            for secret in (assumed["SecretAccessKey"], assumed["SessionToken"]):
                register_secret(secret)  # masked in every log line and error text, like configured ones
            session = boto3.Session(
                aws_access_key_id=assumed["AccessKeyId"],
                aws_secret_access_key=assumed["SecretAccessKey"],
                aws_session_token=assumed["SessionToken"],
            )
    except botocore.exceptions.ProfileNotFound as exc:
        raise MissingSecretError(f"AWS profile not found: {exc}", tool=tool.name) from None
    return session


class _Clients:
    """The tool's API Gateway clients per region: signed and retried by botocore (adaptive mode), sent
    by the tool's HTTP transport, and listed within its page cap."""

    def __init__(self, tool: ToolConfig, client: HttpClient) -> None:
        from botocore.config import Config

        self.tool, self.client = tool, client
        self.config = Config(
            # botocore's "max_attempts" counts retries only; "total_max_attempts" includes the first try.
            retries={"mode": "adaptive", "total_max_attempts": tool.max_retries + 1},
            user_agent_extra="apiinv",
        )
        self.session = _session(tool, self.config, self.send)

    def __call__(self, service: str, region: str) -> Any:
        made = self.session.client(
            service,
            region_name=region,
            endpoint_url=self.tool.settings.get("endpoint_url"),
            config=self.config,
        )
        made.meta.events.register("before-send", self.send)
        return made

    def send(self, request: Any, **_: Any) -> Any:
        """Send a request the SDK signed through the tool's HTTP transport, which paces and counts it
        and reads its answer whole within ``request_deadline`` and ``max_response_mb`` (botocore's own
        timeouts are per socket read: a server dripping bytes would hold the run for ever). A refused
        answer (RESPONSE_LIMIT) is no SDK error, so botocore does not retry it."""
        import requests
        from botocore.awsrequest import AWSResponse

        try:
            answer = self.client.plain_session.request(
                request.method,
                request.url,
                headers=dict(request.headers.items()),
                data=request.body,
                timeout=self.client.timeout,
                allow_redirects=False,
                auth=lambda prepared: prepared,  # signed already: no .netrc login may replace the signature
            )
        except requests.RequestException as exc:
            raise _sdk_error(exc, request.url) from None
        return AWSResponse(request.url, answer.status_code, answer.headers, _ReadBody(answer.content))

    def listing(self, api: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a listing, following its page token within the tool's ``max_pages`` (past
        it, the listing is truncated, as every other tool's). botocore's own paginator has no page
        cap and notices only a token repeated at once, not a cycle: a token seen before truncates the
        tool at once."""
        token_name = PAGE_TOKENS[api.meta.service_model.service_name]
        name = _listing_name(api, operation, params)
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for pages in range(self.tool.max_pages):
            answer = getattr(api, operation)(**params)
            self.client.stats.add("pages")
            items += [_plain(item) for item in answer.get(key, [])]
            token = answer.get(token_name)
            if not token:
                self.client.stats.stopped("no next token")
                return items
            if token in seen:
                reason = f"page {pages + 1} gave the page token {token[:40]!r} again: the server is cycling"
                self.client.stats.stopped(reason, truncated=name)
                return items
            seen.add(token)
            params[token_name] = token
        self.client.stats.stopped(f"page cap {self.tool.max_pages} reached", truncated=name)
        return items


def _listing_name(api: Any, operation: str, params: dict[str, Any]) -> str:
    """How messages name a listing: ``GetApiMappings(DomainName=shop.example) in eu-west-1``."""
    ids = ", ".join(f"{k}={v}" for k, v in params.items() if isinstance(v, str))
    return f"{api.meta.method_to_api_mapping[operation]}{f'({ids})' if ids else ''} in {api.meta.region_name}"


class _ReadBody:
    """An answer the tool's transport has read whole, as botocore reads a body."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.content


def _sdk_error(exc: Exception, url: str) -> Exception:
    """The SDK's own error for a transport failure: botocore retries these, and says what went wrong."""
    import botocore.exceptions as sdk
    import requests.exceptions as http

    known: list[tuple[type[Exception], type[sdk.BotoCoreError]]] = [
        (http.SSLError, sdk.SSLError),
        (http.ConnectTimeout, sdk.ConnectTimeoutError),
        (http.ReadTimeout, sdk.ReadTimeoutError),
        (http.ChunkedEncodingError, sdk.ConnectionClosedError),
        (http.ConnectionError, sdk.EndpointConnectionError),
    ]
    for sent, raised in known:
        if isinstance(exc, sent):
            return raised(endpoint_url=url, error=exc)
    return sdk.HTTPClientError(error=exc)


def _plain(value: Any) -> Any:
    """An SDK answer as JSON: timestamps as ISO text, the SDK's own metadata dropped."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _errors(tool: ToolConfig, action: Callable[[], T]) -> T:
    import botocore.exceptions

    try:
        return action()
    except botocore.exceptions.NoCredentialsError:
        raise MissingSecretError(
            "no AWS credentials: none in the environment, profile or instance role, and none in credentials:",
            tool=tool.name,
        ) from None
    except botocore.exceptions.ClientError as exc:
        error = as_dict(exc.response.get("Error"))
        status = as_dict(exc.response.get("ResponseMetadata")).get("HTTPStatusCode")
        raise CollectionError(
            f"AWS {exc.operation_name}: {error.get('Code')}: {str(error.get('Message'))[:200]}",
            tool=tool.name,
            status=status,
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CollectionError(f"AWS: {type(exc).__name__}: {str(exc)[:200]}", tool=tool.name) from None


def check(client: HttpClient, tool: ToolConfig) -> str:
    clients = _errors(tool, lambda: _Clients(tool, client))
    region = tool.settings["regions"][0]
    found = _errors(
        tool, lambda: {"n": len(clients.listing(clients("apigateway", region), "get_rest_apis", "items"))}
    )
    return f"{found['n']} REST APIs in {region}"


def fetch(ctx: FetchContext) -> dict[str, Any]:
    clients = _errors(ctx.tool, lambda: _Clients(ctx.tool, ctx.client))

    def region(name: str) -> dict[str, Any]:
        return _errors(ctx.tool, lambda: _region(ctx, clients, name))

    regions = list(ctx.tool.settings["regions"])
    return {"regions": dict(zip(regions, ctx.map(region, regions), strict=True))}


def _region(ctx: FetchContext, clients: _Clients, region: str) -> dict[str, Any]:
    v1, v2 = clients("apigateway", region), clients("apigatewayv2", region)
    listing = clients.listing
    earlier = as_dict(as_dict((ctx.previous or {}).get("regions")).get(region))
    before_of = {
        (section, as_dict(api).get(key)): as_dict(api)
        for section, key in (("rest_apis", "id"), ("apis", "ApiId"))
        for api in as_list(earlier.get(section))
    }

    def kept(section: str, api: dict[str, Any], stages: list[dict[str, Any]]) -> Any:
        """What the last collection read below ``api`` (its resources or routes), while unchanged."""
        rest = section == "rest_apis"
        api_id, marks, deployment, below = (
            (api["id"], ("createdDate", "version"), "deploymentId", "resources")
            if rest
            else (api["ApiId"], ("CreatedDate", "Version"), "DeploymentId", "routes")
        )
        before = before_of.get((section, api_id))
        if before is None or below not in before or not ctx.may_reuse(section, f"{region}/{api_id}"):
            return None
        deployed = _deployments(stages, deployment)
        if api.get(marks[0]) is None or not deployed:
            return None
        if deployed != _deployments(before.get("stages"), deployment):
            return None
        if any(api.get(mark) != before.get(mark) for mark in marks):
            return None
        return ctx.reusing(before[below])

    rest_apis = []
    for api in listing(v1, "get_rest_apis", "items"):
        stages = [_plain(s) for s in v1.get_stages(restApiId=api["id"]).get("item", [])]
        resources = kept("rest_apis", api, stages)
        if resources is None:
            resources = listing(v1, "get_resources", "items", restApiId=api["id"], embed=["methods"])
        rest_apis.append({**api, "resources": resources, "stages": stages})
    domains = listing(v1, "get_domain_names", "items")
    for domain in domains:
        domain["mappings"] = listing(v1, "get_base_path_mappings", "items", domainName=domain["domainName"])
    http_apis = []
    for api in listing(v2, "get_apis", "Items"):
        stages = listing(v2, "get_stages", "Items", ApiId=api["ApiId"])
        routes = kept("apis", api, stages)
        if routes is None:
            routes = listing(v2, "get_routes", "Items", ApiId=api["ApiId"])
        http_apis.append({**api, "routes": routes, "stages": stages})
    v2_domains = listing(v2, "get_domain_names", "Items")
    for domain in v2_domains:
        domain["mappings"] = listing(v2, "get_api_mappings", "Items", DomainName=domain["DomainName"])
    return {"rest_apis": rest_apis, "domain_names": domains, "apis": http_apis, "v2_domain_names": v2_domains}


def _deployments(stages: Any, key: str) -> list[tuple[str, str]]:
    """The deployment each stage serves, as sorted (stage, deployment id) pairs; a stage with none is
    left out (v1 names a stage ``stageName``, v2 ``StageName``)."""
    name = "StageName" if key == "DeploymentId" else "stageName"
    stages = [as_dict(stage) for stage in as_list(stages)]
    return sorted((str(stage.get(name)), str(stage[key])) for stage in stages if stage.get(key))


def counts(raw: dict[str, Any]) -> dict[str, int]:
    regions = [as_dict(r) for r in as_dict(raw.get("regions")).values()]
    rest = [as_dict(a) for r in regions for a in as_list(r.get("rest_apis"))]
    v2 = [as_dict(a) for r in regions for a in as_list(r.get("apis"))]
    return {
        "rest_apis": len(rest),
        "methods": sum(
            len(as_dict(res.get("resourceMethods")))
            for a in rest
            for res in map(as_dict, as_list(a.get("resources")))
        ),
        "http_apis": len(v2),
        "routes": sum(len(as_list(a.get("routes"))) for a in v2),
        "domain_names": sum(
            len(as_list(r.get("domain_names"))) + len(as_list(r.get("v2_domain_names"))) for r in regions
        ),
    }


def _join(*parts: str) -> str:
    joined = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return "/" + joined if joined else ""


def _rest_hosts(
    api: dict[str, Any], region: str, domains: list[dict[str, Any]]
) -> list[tuple[str, str, str]]:
    """(host, base path, stage) of each way a REST API is called: its execute-api endpoint per stage,
    and each custom domain's base path mapping to one of its stages."""
    hosts = []
    stages = [as_text(s.get("stageName")) or "" for s in map(as_dict, as_list(api.get("stages")))]
    if not api.get("disableExecuteApiEndpoint"):
        hosts += [
            (f"{api.get('id')}.execute-api.{region}.amazonaws.com", _join(stage), stage) for stage in stages
        ]
    for domain in domains:
        for mapping in map(as_dict, as_list(domain.get("mappings"))):
            if mapping.get("restApiId") == api.get("id"):
                base = as_text(mapping.get("basePath")) or ""
                hosts.append(
                    (
                        str(domain.get("domainName")),
                        "" if base == "(none)" else _join(base),
                        as_text(mapping.get("stage")) or "",
                    )
                )
    return hosts


def _v2_hosts(api: dict[str, Any], region: str, domains: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    hosts = []
    stages = [as_text(s.get("StageName")) or "" for s in map(as_dict, as_list(api.get("stages")))]
    if not api.get("DisableExecuteApiEndpoint"):
        host = f"{api.get('ApiId')}.execute-api.{region}.amazonaws.com"
        hosts += [(host, "" if stage == "$default" else _join(stage), stage) for stage in stages]
    for domain in domains:
        for mapping in map(as_dict, as_list(domain.get("mappings"))):
            if mapping.get("ApiId") == api.get("ApiId"):
                hosts.append(
                    (
                        str(domain.get("DomainName")),
                        _join(as_text(mapping.get("ApiMappingKey")) or ""),
                        as_text(mapping.get("Stage")) or "",
                    )
                )
    return hosts


def _path(resource_path: str) -> tuple[str, str]:
    """(path, match): the resource or route template as API Gateway holds it; one that ends in a greedy
    ``{proxy+}`` is ``greedy``: it serves the paths below its parent, as its API's other routes leave
    them to it (apiinv.analysis.routers.aws), never its parent itself."""
    resource_path = resource_path or "/"
    return resource_path, "greedy" if resource_path.endswith("+}") else "exact"


def _kinds(authorization: Any, api_key_required: Any) -> list[str]:
    """What a method or route asks of a caller; a required API key alone counts, as Kong's key-auth does."""
    kinds = [AUTH_KINDS.get(str(authorization), "unknown")] if authorization not in (None, "NONE") else []
    return sorted(kinds + ["api_key"] * (api_key_required is True))


def _rows(
    common: dict[str, Any],
    hosts: list[tuple[str, str, str]],
    method: str,
    path: str,
    match: str,
    kinds: list[str],
) -> Iterator[dict[str, Any]]:
    for host, base, _stage in hosts or [("", "", "")]:
        yield make_record(
            **common,
            host=host,
            base_path=base,
            method=method,
            path=path,
            path_match=match,
            auth_required=bool(kinds),
            auth_types=kinds,
        )


def _common(
    instance: str, collected: Any, region: str, api_id: Any, name: Any, deployed: bool, tags: list[str]
) -> dict[str, Any]:
    return {
        "tool": "aws_apigateway",
        "instance": instance,
        "collected_at": collected,
        "api_id": f"{region}/{api_id}",
        "api_name": as_text(name),
        "environment": region,
        "status": "deployed" if deployed else "undeployed",
        "tags": tags,
    }


def normalize(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    instance, collected = raw["tool"], raw.get("collected_at")
    for region, found in as_dict(as_dict(raw["data"]).get("regions")).items():
        found = as_dict(found)
        domains, v2_domains = as_list(found.get("domain_names")), as_list(found.get("v2_domain_names"))
        for api in map(as_dict, as_list(found.get("rest_apis"))):
            hosts = _rest_hosts(api, region, [as_dict(d) for d in domains])
            tags = ["rest", *sorted(f"{k}={v}" for k, v in as_dict(api.get("tags")).items())]
            common = _common(instance, collected, region, api.get("id"), api.get("name"), bool(hosts), tags)
            for resource in map(as_dict, as_list(api.get("resources"))):
                path, match = _path(as_text(resource.get("path")) or "/")
                for method, detail in as_dict(resource.get("resourceMethods")).items():
                    kinds = _kinds(
                        as_dict(detail).get("authorizationType"), as_dict(detail).get("apiKeyRequired")
                    )
                    yield from _rows(common, hosts, method, path, match, kinds)
        for api in map(as_dict, as_list(found.get("apis"))):
            hosts = _v2_hosts(api, region, [as_dict(d) for d in v2_domains])
            websocket = api.get("ProtocolType") == "WEBSOCKET"
            tags = ["websocket" if websocket else "http"]
            common = _common(
                instance, collected, region, api.get("ApiId"), api.get("Name"), bool(hosts), tags
            )
            seen: set[tuple[str, str]] = set()
            for route in map(as_dict, as_list(api.get("routes"))):
                key = as_text(route.get("RouteKey")) or ""
                if websocket or key == "$default" or " " not in key:
                    # $default or a WebSocket route: every method and path the API's other routes leave
                    method, path, match = "*", "/", "prefix"
                else:
                    method, template = key.split(" ", 1)
                    path, match = _path(template)
                if (method, path) in seen:  # a WebSocket API's routes are one endpoint
                    continue
                seen.add((method, path))
                kinds = _kinds(route.get("AuthorizationType"), route.get("ApiKeyRequired"))
                yield from _rows(common, hosts, method, path, match, kinds)


SOURCE = Source(
    name="aws_apigateway",
    role="gateway",
    defaults={"auth_type": "aws", "rate_limit": 300, "concurrency": 2},
    raw_shape={"regions": dict},
    settings_schema=SETTINGS_SCHEMA,
    base_url=False,
    required_settings=("regions",),
    check=check,
    fetch=fetch,
    counts=counts,
    normalize=normalize,
    incremental=True,
    simulator="apiinv.sandbox.aws_apigateway",
)
