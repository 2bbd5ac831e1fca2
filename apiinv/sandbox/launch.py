"""The sandbox: all four simulators over one estate, started together on 127.0.0.1, with the
configuration (tools.yaml, .env, a service-account key) that points apiinv at them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from apiinv.errors import UsageError
from apiinv.sandbox.apigee import ApigeeApp
from apiinv.sandbox.cequence import PROBE_PATHS, TOKEN_PATH, CequenceApp
from apiinv.sandbox.common import EstateApp
from apiinv.sandbox.crunch42 import Crunch42App
from apiinv.sandbox.estate import Estate
from apiinv.sandbox.kong import KongApp
from apiinv.sandbox.server import SimServer
from apiinv.store import make_dirs, write_atomic

TOOLS = ("42crunch", "apigee", "cequence", "kong")
ORGANIZATION = "acme-sandbox"


@dataclass
class Sandbox:
    size: int = 200
    seed: int = 7
    day: date | None = None
    latency: float = 0.0
    rate_limits: dict[str, float] = field(default_factory=dict)
    token_lifetime: float = 1800
    kong_admin_token: bool = False

    def __post_init__(self) -> None:
        self.estate = Estate(size=self.size, seed=self.seed)
        self.api_key = f"api_{uuid.uuid4()}"
        self.client_id = "apiinv-sandbox"
        self.client_secret = secrets.token_urlsafe(24)
        self.operator_token = f"ya29.{secrets.token_urlsafe(32)}"
        self.kong_token = secrets.token_urlsafe(24) if self.kong_admin_token else None
        common: dict[str, Any] = {"day": self.day, "latency": self.latency}
        self.apps: dict[str, EstateApp] = {
            "42crunch": Crunch42App(
                self.estate, api_key=self.api_key, rate_limit=self.rate_limits.get("42crunch"), **common
            ),
            "apigee": ApigeeApp(
                self.estate,
                organization=ORGANIZATION,
                operator_token=self.operator_token,
                token_lifetime=max(self.token_lifetime, 60),
                rate_limit=self.rate_limits.get("apigee"),
                **common,
            ),
            "cequence": CequenceApp(
                self.estate,
                client_id=self.client_id,
                client_secret=self.client_secret,
                token_lifetime=self.token_lifetime,
                rate_limit=self.rate_limits.get("cequence"),
                **common,
            ),
            "kong": KongApp(
                self.estate, admin_token=self.kong_token, rate_limit=self.rate_limits.get("kong"), **common
            ),
        }
        self.servers: dict[str, SimServer] = {}

    def start(self) -> Sandbox:
        for tool, app in self.apps.items():
            self.servers[tool] = SimServer(app).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_date(self, day: date) -> None:
        self.day = day
        for app in self.apps.values():
            app.set_date(day)

    def url(self, tool: str) -> str:
        return self.servers[tool].url

    def tools_yaml(self) -> dict[str, Any]:
        def limit(tool: str) -> dict[str, Any]:
            return {"rate_limit": self.rate_limits[tool]} if tool in self.rate_limits else {}

        return {
            "42crunch": {
                "api_base_url": self.url("42crunch"),
                "auth_type": "api_key",
                **limit("42crunch"),
                "assessment_reports": True,
                "scan_reports": True,
            },
            "apigee": {
                "api_base_url": self.url("apigee"),
                "auth_type": "service_account",
                "organization": ORGANIZATION,
                **limit("apigee"),
            },
            "cequence": {
                "api_base_url": self.url("cequence"),
                "auth_type": "oauth",
                "token_url": self.url("cequence") + TOKEN_PATH,
                **limit("cequence"),
            },
            "kong": {
                "api_base_url": self.url("kong"),
                "auth_type": "api_key" if self.kong_token else "none",
                **limit("kong"),
            },
        }

    def env(self, key_file: Path) -> dict[str, str]:
        values = {
            "APIINV_42CRUNCH_API_KEY": self.api_key,
            "APIINV_APIGEE_KEY_FILE": str(key_file),
            "APIINV_CEQUENCE_CLIENT_ID": self.client_id,
            "APIINV_CEQUENCE_CLIENT_SECRET": self.client_secret,
        }
        if self.kong_token:
            values["APIINV_KONG_API_KEY"] = self.kong_token
        return values

    def write_config(self, folder: Path) -> Path:
        """tools.yaml, .env and apigee-service-account.json for these simulators, in ``folder``, and a
        planner.yaml with one nightly schedule unless the folder has one (so validate-config and
        install_cron.sh accept the folder as it is)."""
        make_dirs(folder)
        key_file = (folder / "apigee-service-account.json").resolve()
        apigee = self.apps["apigee"]
        assert isinstance(apigee, ApigeeApp)
        apigee.accounts.write_key_file(key_file, self.url("apigee") + "/token")
        header = "# Written by `apiinv sandbox serve`: the bundled simulators on 127.0.0.1.\n"
        write_atomic(
            folder / "tools.yaml",
            (header + yaml.safe_dump(self.tools_yaml(), sort_keys=False)).encode(),
        )
        lines = [f"{name}={value}" for name, value in self.env(key_file).items()]
        write_atomic(folder / ".env", ("\n".join(lines) + "\n").encode())
        if not (folder / "planner.yaml").exists():
            planner = {"schedules": {"nightly": {"cron": "0 2 * * *", "tools": ["all"]}}}
            write_atomic(
                folder / "planner.yaml", (header + yaml.safe_dump(planner, sort_keys=False)).encode()
            )
        return folder

    def truth(self) -> dict[str, dict[str, int]]:
        """What each tool holds on the current date, for tests to compare collections with."""
        day = self.estate.on(self.day)
        crunch = day.in_spec()
        apigee = day.in_gateway("apigee")
        kong = self.apps["kong"]
        assert isinstance(kong, KongApp)
        kong_view = kong.view(kong._build)
        return {
            "42crunch": {
                "collections": len({a.collection_id for a, _ in crunch}),
                "apis": len(crunch),
                "operations": sum(len(ops) for _, ops in crunch),
            },
            "apigee": {
                "proxies": len(apigee),
                "deployments": sum(len(a.environments) for a, _ in apigee if a.deployed),
                "products": sum(1 for a, _ in apigee if a.index % 6 != 5),
            },
            "cequence": {"endpoints": len(day.in_traffic()) + (len(PROBE_PATHS) if day.in_traffic() else 0)},
            "kong": {k: len(v) for k, v in kong_view.items()},
        }


def parse_rate_limits(specs: list[str]) -> dict[str, float]:
    """``TOOL=RPM`` options into a dict; a bad one is a usage error naming it."""
    limits = {}
    for spec in specs:
        tool, _, value = spec.partition("=")
        try:
            limits[_known(tool)] = float(value)
        except ValueError:
            raise UsageError(f"--rate-limit {spec!r}: expected TOOL=REQUESTS_PER_MINUTE") from None
    return limits


def inject_fault(sandbox: Sandbox, spec: str) -> None:
    """``TOOL=KIND[,times=N][,status=S][,path=REGEX][,delay=SEC][,retry_after=V]``."""
    tool, _, rest = spec.partition("=")
    kind, *options = rest.split(",")
    values: dict[str, Any] = {}
    converters = {"times": int, "status": int, "delay": float, "path": str, "retry_after": str}
    for option in options:
        key, _, value = option.partition("=")
        if key not in converters:
            raise UsageError(f"--fault {spec!r}: unknown option {key!r} (known: {', '.join(converters)})")
        try:
            values[key] = converters[key](value)
        except ValueError:
            raise UsageError(f"--fault {spec!r}: {key} must be a number") from None
    try:
        sandbox.apps[_known(tool)].inject(kind, **values)
    except ValueError as exc:
        raise UsageError(f"--fault {spec!r}: {exc}") from None


def _known(tool: str) -> str:
    if tool not in TOOLS:
        raise UsageError(f"unknown simulator {tool!r} (known: {', '.join(TOOLS)})")
    return tool


def wait(seconds: float | None) -> None:
    import time

    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
