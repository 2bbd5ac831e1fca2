"""`apiinv tools`: what is configured, and (with --check) whether each tool answers an authenticated call."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from apiinv.config import Config, ToolConfig
from apiinv.errors import ApiInvError, ExitStatus, status_for_outcomes
from apiinv.redact import redact_url


def describe(cfg: Config) -> list[dict[str, str]]:
    rows = []
    for tool in cfg.tools.values():
        if tool.auth_type == "none":
            creds = "not needed"
        elif tool.has_credentials:
            creds = "present"
        else:
            creds = "missing: " + ", ".join(tool.missing_vars)
        rows.append(
            {
                "name": tool.name,
                "type": tool.type,
                "enabled": "yes" if tool.enabled else "no",
                "base_url": redact_url(tool.base_url),
                "auth": tool.auth_type,
                "rate_limit": f"{tool.rate_limit:g}/min" if tool.rate_limit else "-",
                "credentials": creds,
            }
        )
    return rows


def format_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "no tools configured"
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    lines = ["  ".join(h.upper().ljust(widths[h]) for h in headers)]
    lines += ["  ".join(r[h].ljust(widths[h]) for h in headers) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


@dataclass
class CheckResult:
    tool: str
    ok: bool
    detail: str
    seconds: float
    error: ApiInvError | None = None

    def line(self) -> str:
        verdict = "ok    " if self.ok else "FAILED"
        return f"{verdict} {self.tool}: {self.detail} ({self.seconds * 1000:.0f} ms)"


def check_tool(tool: ToolConfig) -> CheckResult:
    from apiinv.http.client import HttpClient

    started = time.monotonic()
    try:
        with HttpClient(tool) as client:
            detail = tool.source.check(client, tool)
        return CheckResult(tool.name, True, detail, time.monotonic() - started)
    except ApiInvError as exc:
        detail = f"{exc.message} [{exc.code} {exc.error_id}]"
        return CheckResult(tool.name, False, detail, time.monotonic() - started, exc)


def check_all(cfg: Config) -> list[CheckResult]:
    tools = [t for t in cfg.tools.values() if t.enabled]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(tools)))) as pool:
        return list(pool.map(check_tool, tools))


def exit_status(results: list[CheckResult]) -> ExitStatus:
    return status_for_outcomes([r.error for r in results])
