"""The sandbox: every registered source's simulator over one estate, started together on 127.0.0.1, with the
configuration (tools.yaml, .env, a service-account key) that points apiinv at them."""

from __future__ import annotations

import importlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from apiinv import registry
from apiinv.errors import UsageError
from apiinv.sandbox.common import Simulator, SimulatorUnavailable
from apiinv.sandbox.estate import Estate
from apiinv.sandbox.server import SimApp
from apiinv.store import make_dirs, write_atomic


def simulator_modules() -> dict[str, str]:
    """Tool type -> simulator module, from the source registry: every source that names one."""
    found = {}
    for tool_type in registry.known_types():
        module = registry.load(tool_type).simulator
        if module:
            found[tool_type] = module
    return found


@dataclass
class Sandbox:
    size: int = 200
    seed: int = 7
    day: date | None = None
    latency: float = 0.0
    rate_limits: dict[str, float] = field(default_factory=dict)
    token_lifetime: float = 1800
    kong_admin_token: bool = False
    only: list[str] | None = None  # the simulators to run (default: every registered one)

    def __post_init__(self) -> None:
        self.estate = Estate(size=self.size, seed=self.seed)
        # Credentials the simulators demand, fresh per sandbox so that tests can look for leaks.
        self.api_key = f"api_{uuid.uuid4()}"
        self.client_id = "apiinv-sandbox"
        self.client_secret = secrets.token_urlsafe(24)
        self.operator_token = f"ya29.{secrets.token_urlsafe(32)}"
        self.kong_token = secrets.token_urlsafe(24) if self.kong_admin_token else None
        self.simulators: dict[str, Simulator] = {}
        self.unavailable: dict[str, str] = {}  # tool -> why its simulator cannot run here
        modules = simulator_modules()
        for tool in self.only or []:
            _known(tool, modules)
        for tool, module in modules.items():
            if self.only is not None and tool not in self.only:
                continue
            try:
                self.simulators[tool] = importlib.import_module(module).Simulator(self)
            except SimulatorUnavailable as exc:
                self.unavailable[tool] = str(exc)
        self.apps: dict[str, SimApp] = {
            tool: sim.app for tool, sim in self.simulators.items() if sim.app is not None
        }
        self.urls: dict[str, str] = {}

    @property
    def tools(self) -> list[str]:
        return list(self.simulators)

    def start(self) -> Sandbox:
        for tool, simulator in self.simulators.items():
            self.urls[tool] = simulator.start()
        return self

    def stop(self) -> None:
        for simulator in self.simulators.values():
            simulator.stop()
        self.urls.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def set_date(self, day: date) -> None:
        self.day = day
        for simulator in self.simulators.values():
            simulator.set_date(day)

    def inject_everywhere(self, kind: str, **options: Any) -> None:
        """The same fault in every vendor: a run in which nothing can be collected."""
        for simulator in self.simulators.values():
            simulator.inject(kind, **options)

    def url(self, tool: str) -> str:
        return self.urls[tool]

    def tools_yaml(self, folder: Path) -> dict[str, Any]:
        """tools.yaml's entries for the running simulators; files they need go into ``folder``."""
        entries = {}
        for tool, simulator in self.simulators.items():
            entry = simulator.tool_entry(self.url(tool), folder)
            if tool in self.rate_limits:
                entry["rate_limit"] = self.rate_limits[tool]
            entries[tool] = entry
        return entries

    def env(self, folder: Path) -> dict[str, str]:
        return {k: v for simulator in self.simulators.values() for k, v in simulator.env(folder).items()}

    def write_config(self, folder: Path) -> Path:
        """tools.yaml, .env and the files they name for these simulators, in ``folder``, and a
        planner.yaml with one nightly schedule unless the folder has one (so validate-config and
        install_cron.sh accept the folder as it is)."""
        make_dirs(folder)
        header = "# Written by `apiinv sandbox serve`: the bundled simulators on 127.0.0.1.\n"
        write_atomic(
            folder / "tools.yaml",
            (header + yaml.safe_dump(self.tools_yaml(folder), sort_keys=False)).encode(),
        )
        lines = [f"{name}={value}" for name, value in self.env(folder).items()]
        write_atomic(folder / ".env", ("\n".join(lines) + "\n").encode())
        if not (folder / "planner.yaml").exists():
            planner = {"schedules": {"nightly": {"cron": "0 2 * * *", "tools": ["all"]}}}
            write_atomic(
                folder / "planner.yaml", (header + yaml.safe_dump(planner, sort_keys=False)).encode()
            )
        return folder

    def truth(self) -> dict[str, dict[str, int]]:
        """What each tool holds on the current date, for tests to compare collections with."""
        return {tool: simulator.truth() for tool, simulator in self.simulators.items()}


def parse_rate_limits(specs: list[str]) -> dict[str, float]:
    """``TOOL=RPM`` options into a dict; a bad one is a usage error naming it."""
    limits = {}
    for spec in specs:
        tool, _, value = spec.partition("=")
        try:
            limits[_known(tool, simulator_modules())] = float(value)
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
        sandbox.apps[_known(tool, sandbox.apps)].inject(kind, **values)
    except ValueError as exc:
        raise UsageError(f"--fault {spec!r}: {exc}") from None


def _known(tool: str, among: Any) -> str:
    if tool not in among:
        raise UsageError(f"unknown simulator {tool!r} (known: {', '.join(among)})")
    return tool


def wait(seconds: float | None) -> None:
    import time

    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
