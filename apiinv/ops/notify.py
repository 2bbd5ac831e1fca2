"""Notifications through apprise: one message per run to Slack, Microsoft Teams, webhooks, e-mail and
the dozens of services apprise speaks, as planner.yaml's ``notify:`` URLs say.

URLs carry tokens, so they may name environment variables (``slack://${SLACK_TOKEN}``); every expanded
value is registered as a secret. A message names tools, statuses, error ids and counts, never an error's
text (which may name hosts), never a secret and no raw control character. A notification that fails is
logged; it never changes the run's exit code.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from apiinv.errors import ConfigurationError
from apiinv.logs import get_logger
from apiinv.redact import printable, redact, register_secret

log = get_logger("notify")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
EVENTS = ("failure", "partial", "change")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    kind: str = "info"  # info | success | warning | failure (apprise's notify types)


def expand(urls: list[str] | tuple[str, ...], env: dict[str, str]) -> list[str]:
    """``${VAR}`` in each URL replaced from the environment; a missing variable is a configuration error."""
    expanded = []
    for url in urls:

        def value(match: re.Match[str]) -> str:
            found = env.get(match.group(1))
            if not found:
                raise ConfigurationError(
                    f"planner.yaml: notify: environment variable {match.group(1)} is not set"
                )
            register_secret(found)
            return found

        full = _VAR.sub(value, url)
        register_secret(full)
        expanded.append(full)
    return expanded


class _ToOurLog(logging.Handler):
    """apprise logs through its own logger, with URLs that carry tokens: its warnings go through our
    handlers and their masking, never to Python's last-resort stderr handler."""

    def emit(self, record: logging.LogRecord) -> None:
        log.handle(record)


def send(urls: list[str], message: Message) -> list[str]:
    """Send ``message`` to every URL; the problems, one line each (empty when all went out)."""
    import apprise

    theirs = logging.getLogger("apprise")
    if not any(isinstance(h, _ToOurLog) for h in theirs.handlers):
        theirs.addHandler(_ToOurLog(logging.WARNING))
        theirs.propagate = False

    kinds = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }
    problems = []
    for url in urls:
        target = apprise.Apprise()
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        if not target.add(url):
            problems.append(f"notify: {scheme}:// URL not understood by apprise: {redact(url)[:80]}")
            continue
        if not target.notify(
            body=printable(message.body, lines=True),
            title=printable(message.title),
            notify_type=kinds[message.kind],
        ):
            # apprise's own privacy form hides passwords and tokens it knows; redact the ${VAR} values
            shown = redact(target[0].url(privacy=True))
            problems.append(f"notify: the {scheme}:// notification to {shown} could not be delivered")
    for problem in problems:
        log.warning("%s", problem)
    return problems
