"""The configuration as typed objects: tools, schedules, delivery, analysis thresholds, and every
default a setting has (here and nowhere else)."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apiinv import registry, timefmt
from apiinv.errors import ConfigurationError, MissingSecretError, UsageError, did_you_mean

if TYPE_CHECKING:
    from collections.abc import Callable

    from apiinv.sources.base import Source

PLANNER_FILE = "planner.yaml"


TOOLS_FILE = "tools.yaml"


OWNERS_KEY = "owners"  # the one top-level key of tools.yaml that is not a tool


# Names end up in file names, crontab lines and lock files (the schemas' name pattern, held whole).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# Files of the combined report that a tool's per-tool files (TOOL-DATE.*, csv/TOOL-DATE.csv) would overwrite.
RESERVED_TOOL_NAMES = frozenset(
    {
        "all",
        "api-inventory",
        "inventory",
        "changes",
        "shadow",
        "unaudited",
        "unauthenticated_sensitive",
        "orphan",
        "zombie",
        "manifest",
    }
)


JOB_TYPE_ACTIONS = {"collection": "collect", "processing": "process", "report": "generate_reports"}
# What each action of a schedule does, in order.
ACTION_STEPS: dict[str, tuple[str, ...]] = {
    "collect": ("collect",),
    "process": ("process",),
    "export": ("export",),
    "generate_reports": ("export",),
    "run": ("collect", "process", "export"),
}


AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "api_key": ("api_key",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "oauth": ("client_id", "client_secret"),
    "service_account": ("key_file", "token"),  # either one
    "aws": (),  # the AWS credential chain, unless credentials: names access_key_id and secret_access_key
    "none": (),
}


@dataclass
class ToolConfig:
    name: str
    type: str
    base_url: str
    auth_type: str
    enabled: bool = True
    rate_limit: float | None = None
    timeout: float = 30.0
    request_deadline: float = 120.0
    tool_deadline: float = 3600.0
    max_response_mb: float = 256.0
    allowed_hosts: list[str] = field(default_factory=list)
    max_retries: int = 5
    max_retry_wait: float = 300.0
    retry_after_cap: float = 120.0
    retry_backoff: float = 0.5
    page_size: int = 100
    max_pages: int = 10_000
    verify: bool | str = True
    cache_ttl: int = 12 * 3600
    concurrency: int = 4
    api_key_header: str = "X-API-KEY"
    token_url: str | None = None
    scope: str | None = None
    description: str = ""
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    credential_vars: dict[str, str] = field(default_factory=dict)
    missing_vars: list[str] = field(default_factory=list)
    missing_settings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # Resolved when the tool is built: the source of its type, and its role (gateway, spec or traffic:
    # what the source declares, or for a ``rest`` tool its ``role:`` setting).
    source: Source = field(init=False, repr=False, compare=False)
    role: str = field(init=False)

    def __post_init__(self) -> None:
        self.source = registry.load(self.type)
        self.role = self.source.role_for(self.settings)

    @property
    def has_credentials(self) -> bool:
        return not self.missing_vars

    def require_ready(self) -> None:
        """Raise unless the tool has what a collection needs: its settings and its secrets."""
        if self.missing_settings:
            raise ConfigurationError(
                f"tools.yaml: {', '.join(self.missing_settings)} not set "
                f"(needed to collect from {self.type})",
                tool=self.name,
            )
        if self.missing_vars:
            raise MissingSecretError(
                f"credentials missing: set {', '.join(self.missing_vars)} in the environment or .env",
                tool=self.name,
            )


# tools.yaml's tunables and their defaults, read off ToolConfig so that each default is written once.
_TUNABLES = (
    "enabled",
    "rate_limit",
    "timeout",
    "request_deadline",
    "tool_deadline",
    "max_response_mb",
    "allowed_hosts",
    "max_retries",
    "max_retry_wait",
    "retry_after_cap",
    "retry_backoff",
    "page_size",
    "max_pages",
    "cache_ttl",
    "concurrency",
    "api_key_header",
)


def _default(item: Field[Any]) -> Any:
    return item.default_factory() if item.default_factory is not MISSING else item.default


_FIELDS = {item.name: item for item in fields(ToolConfig)}
TOOL_DEFAULTS: dict[str, Any] = {name: _default(_FIELDS[name]) for name in _TUNABLES} | {
    "verify_tls": _default(_FIELDS["verify"]),
    "auth_type": "none",
}
_COMMON_KEYS = frozenset(TOOL_DEFAULTS) | {
    "type",
    "description",
    "api_base_url",
    "credentials",
    "token_url",
    "scope",
    "ca_bundle",
}


@dataclass
class Schedule:
    name: str
    cron: str
    tools: list[str]
    action: str = "run"
    enabled: bool = True
    workers: int = 4
    formats: list[str] = field(default_factory=lambda: ["xlsx", "json"])
    description: str = ""
    delivery: Delivery = field(default_factory=lambda: Delivery())


@dataclass(frozen=True)
class Delivery:
    """Who hears of a run, and how: planner ``defaults`` overridden per schedule."""

    mail_to: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()  # apprise URLs, ${VAR} expanded when sending
    notify_on: frozenset[str] = frozenset({"failure", "partial"})
    only_on_change: bool = False
    mail_encrypt: bool = False
    metrics_file: str | None = None  # node_exporter's textfile collector reads it (docs/monitoring.md)
    # full: the body names endpoints; counts: counts only; None: counts only when the attachment is
    # encrypted (the body never is).
    mail_body: str | None = None

    @classmethod
    def merged(cls, defaults: dict[str, Any], entry: dict[str, Any]) -> Delivery:
        def pick(key: str, default: Any) -> Any:
            return entry.get(key, defaults.get(key, default))

        return cls(
            mail_to=tuple(pick("mail_to", [])),
            notify=tuple(pick("notify", [])),
            notify_on=frozenset(pick("notify_on", ["failure", "partial"])),
            only_on_change=bool(pick("only_on_change", False)),
            mail_encrypt=bool(pick("mail_encrypt", False)),
            metrics_file=pick("metrics_file", None),
            mail_body=pick("mail_body", None),
        )


@dataclass(frozen=True)
class Analysis:
    audit_max_age_days: int = 90
    min_audit_grade: float = 70
    orphan_after_days: int = 30
    zombie_within_days: int = 30
    drop_guard: float = 0.5
    max_reject_share: float = 0.05
    carry_forward_days: int = 7
    trend_runs: int = 30


@dataclass
class Planner:
    schedules: dict[str, Schedule]
    timezone: str | None = None
    analysis: Analysis = field(default_factory=Analysis)
    defaults: Delivery = field(default_factory=lambda: Delivery())  # for runs outside a schedule

    def tzinfo(self) -> zoneinfo.ZoneInfo | None:
        return zoneinfo.ZoneInfo(self.timezone) if self.timezone else None


@dataclass
class Validation:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Config:
    config_dir: Path
    tools: dict[str, ToolConfig]
    planner: Planner | None
    warnings: list[str]
    owners_file: Path | None = None
    owners_sheet: str | None = None

    @property
    def analysis(self) -> Analysis:
        return self.planner.analysis if self.planner else Analysis()

    def owner_lookup(self) -> Callable[[dict[str, Any]], str | None] | None:
        """record -> owner from the owners workbook tools.yaml names, or None without one."""
        if self.owners_file is None:
            return None
        from apiinv.inventory.owners import load_owners

        return load_owners(self.owners_file, self.owners_sheet)

    def select(self, names: list[str], *, all_tools: bool = False) -> list[ToolConfig]:
        """Tools named on the command line (or every enabled one for ``all``), in tools.yaml order."""
        if all_tools or names == ["all"] or "all" in names:
            selected = [t for t in self.tools.values() if t.enabled]
            if not selected:
                raise ConfigurationError(f"{self.config_dir / TOOLS_FILE}: no enabled tools")
            return selected
        if not names:
            raise UsageError("name at least one tool, or use --all")
        unknown = [n for n in names if n not in self.tools]
        if unknown:
            raise UsageError(
                f"unknown tool {', '.join(map(repr, unknown))}{did_you_mean(unknown[0], self.tools)} "
                f"(tools.yaml has: {', '.join(self.tools)})"
            )
        return [self.tools[n] for n in dict.fromkeys(names)]

    @property
    def timezone(self) -> str | None:
        return self.planner.timezone if self.planner else None

    def today(self) -> date:
        return timefmt.today(self.timezone)
