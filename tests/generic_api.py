"""A generic management API for the HTTP client's tests: every auth kind and pagination style."""

from __future__ import annotations

import base64

from apiinv.sandbox.server import Request, Response, SimApp, error_response, json_response
from apiinv.sandbox.tokens import ServiceAccounts, TokenRegistry, bearer, client_credentials_handler

ITEMS = [{"name": f"item-{i:03d}", "n": i} for i in range(23)]
API_KEY = "api_0f8c1f3e-7a52-4c1b-9d7e-3b2a1c0d9e8f"
STATIC_TOKEN = "static-bearer-token-value-123"
USER, PASSWORD = "operator", "basic-password-value-456"
CLIENT_ID, CLIENT_SECRET = "apiinv-client", "client-secret-value-789"


class GenericApi(SimApp):
    name = "generic"

    def __init__(self, auth: str = "none", **kwargs) -> None:
        super().__init__(**kwargs)
        self.auth = auth
        self.tokens = TokenRegistry(lifetime=1800)
        self.accounts = ServiceAccounts()
        self.route("POST", "/token", client_credentials_handler(self.tokens, {CLIENT_ID: CLIENT_SECRET}))
        self.route("POST", "/google/token", self.accounts.token_handler(self.tokens))
        self.route("GET", "/items/page", self.page)
        self.route("GET", "/items/offset", self.offset)
        self.route("GET", "/items/token", self.token_pages)
        self.route("GET", "/items/cursor", self.cursor_pages)
        self.route("GET", "/items/startkey", self.start_key)
        self.route("GET", "/items/next", self.next_link)
        self.route("GET", "/items/cycle", self.cycle)
        self.route("GET", "/items/all", lambda r: json_response({"list": ITEMS}))
        self.route(
            "GET",
            "/malformed",
            lambda r: Response(200, b'{"list": [1, 2', {"Content-Type": "application/json"}),
        )
        self.route("GET", "/scalar", lambda r: json_response({"list": 5}))
        # Documents with validators: a 304 when the client's copy is current.
        self.version = 1
        self.conditional: list[str] = []  # the validators clients sent
        self.route("GET", "/items/etag", self.with_etag)
        self.route("GET", "/items/modified", self.with_last_modified)

    def authenticate(self, request: Request) -> Response | None:
        if self.auth == "none":
            return None
        if self.auth == "api_key" and request.header("x-api-key") == API_KEY:
            return None
        if self.auth == "bearer" and bearer(request) == STATIC_TOKEN:
            return None
        if self.auth == "basic":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if request.header("authorization") == expected:
                return None
        if self.auth in ("oauth", "service_account") and self.tokens.valid(bearer(request)):
            return None
        return error_response(401, "unauthorized")

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def with_etag(self, request: Request) -> Response:
        document = {"list": ITEMS[: self.version], "version": self.version}
        return self._conditional(request, "ETag", f'"v{self.version}"', "if-none-match", document)

    def with_last_modified(self, request: Request) -> Response:
        stamp = f"Mon, 2{self.version} Nov 2026 09:00:00 GMT"
        return self._conditional(
            request, "Last-Modified", stamp, "if-modified-since", {"list": ITEMS[: self.version]}
        )

    def _conditional(
        self, request: Request, validator: str, value: str, asked_with: str, document
    ) -> Response:
        sent = request.header(asked_with)
        if sent:
            self.conditional.append(sent)
        if sent == value:
            return Response(304, b"", {validator: value})
        return json_response(document, headers={validator: value})

    @staticmethod
    def page(request: Request) -> Response:
        page, per = request.int_arg("page", 1), request.int_arg("perPage", 10)
        return json_response({"list": ITEMS[(page - 1) * per : page * per]})

    @staticmethod
    def offset(request: Request) -> Response:
        offset, limit = request.int_arg("offset", 0), request.int_arg("limit", 10)
        return json_response({"data": ITEMS[offset : offset + limit], "total": len(ITEMS)})

    @staticmethod
    def token_pages(request: Request) -> Response:
        start = int(request.query.get("pageToken") or 0)
        size = request.int_arg("pageSize", 10)
        following = start + size
        return json_response(
            {
                "things": ITEMS[start:following],
                "nextPageToken": str(following) if following < len(ITEMS) else "",
            }
        )

    @staticmethod
    def cursor_pages(request: Request) -> Response:
        start = int(request.query.get("cursor") or 0)
        size = request.int_arg("limit", 10)
        following = start + size
        return json_response(
            {
                "items": ITEMS[start:following],
                "meta": {"next": str(following) if following < len(ITEMS) else None},
            }
        )

    @staticmethod
    def start_key(request: Request) -> Response:
        count = request.int_arg("count", 10)
        names = [i["name"] for i in ITEMS]
        start = names.index(request.query["startKey"]) if "startKey" in request.query else 0
        return json_response({"apiProduct": ITEMS[start : start + count]})

    @staticmethod
    def next_link(request: Request) -> Response:
        start = int(request.query.get("offset") or 0)
        size = request.int_arg("size", 100)
        following = start + size
        more = following < len(ITEMS)
        return json_response(
            {
                "data": ITEMS[start:following],
                "offset": str(following) if more else None,
                "next": f"/items/next?offset={following}" if more else None,
            }
        )

    @staticmethod
    def cycle(request: Request) -> Response:
        return json_response({"things": ITEMS[:5], "nextPageToken": "same-token-again"})
