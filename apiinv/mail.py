"""`apiinv mail`: the dated workbook to the security team, with a short plain-text and HTML body.

SMTP settings come from the environment or .env: APIINV_SMTP_HOST, APIINV_SMTP_PORT,
APIINV_SMTP_SECURITY (starttls, ssl or none; default starttls), APIINV_SMTP_USER,
APIINV_SMTP_PASSWORD, APIINV_MAIL_FROM, and APIINV_SMTP_CA_BUNDLE for a server whose certificate a
private CA signed.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from apiinv.errors import ApiInvError, ConfigurationError, UsageError
from apiinv.findings import FINDINGS, TITLES
from apiinv.redact import register_secret


class DeliveryError(ApiInvError):
    code = "MAIL_DELIVERY_ERROR"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None = None
    sender: str = "apiinv@localhost"
    timeout: float = 30.0
    ca_bundle: str | None = None

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle)

    @classmethod
    def from_env(cls, env: dict[str, str]) -> SmtpSettings:
        host = env.get("APIINV_SMTP_HOST")
        if not host:
            raise ConfigurationError("APIINV_SMTP_HOST is not set (the SMTP server to send reports through)")
        security = env.get("APIINV_SMTP_SECURITY", "starttls").lower()
        if security not in ("starttls", "ssl", "none"):
            raise ConfigurationError(f"APIINV_SMTP_SECURITY={security!r}: use starttls, ssl or none")
        try:
            port = int(env.get("APIINV_SMTP_PORT") or (465 if security == "ssl" else 587))
        except ValueError:
            raise ConfigurationError("APIINV_SMTP_PORT is not a number") from None
        password = env.get("APIINV_SMTP_PASSWORD")
        register_secret(password)
        return cls(
            host,
            port,
            security,
            env.get("APIINV_SMTP_USER"),
            password,
            env.get("APIINV_MAIL_FROM") or f"apiinv@{host}",
            ca_bundle=env.get("APIINV_SMTP_CA_BUNDLE"),
        )


def has_changes(summary: dict[str, Any]) -> bool:
    changes = summary.get("changes") or {}
    return any(changes.get(k) for k in ("new", "removed", "changed"))


def compose(
    summary: dict[str, Any], day: str, workbook: Path, to: list[str], sender: str, subject: str | None = None
) -> EmailMessage:
    changes, findings = summary.get("changes") or {}, summary.get("findings") or {}
    failed = summary.get("failed_tools") or []
    baseline = summary.get("baseline") or []
    banner = summary.get("banner")
    lines = [
        f"API inventory for {day}",
        "",
        banner or "Every tool's data is from this date.",
        f"Endpoints: {summary.get('endpoints', 0):,}",
        f"Changes since the last complete run (distinct endpoints): {changes.get('new', 0):,} new, "
        f"{changes.get('removed', 0):,} removed, {changes.get('changed', 0):,} changed"
        + (
            f" ({changes['held_back']:,} removals held back: suspect drop)"
            if changes.get("held_back")
            else ""
        )
        + (f"; baseline run of {', '.join(baseline)}" if baseline else ""),
        "Findings: " + ", ".join(f"{TITLES[n].lower()} {findings.get(n, 0):,}" for n in FINDINGS),
        f"Tools that failed: {', '.join(failed)}" if failed else "All tools collected and processed.",
        "",
        f"The workbook {workbook.name} is attached. It maps our API attack surface: keep it confidential.",
    ]
    message = EmailMessage()
    message["Subject"] = (
        subject
        or f"API inventory {day}{' (INCOMPLETE)' if summary.get('incomplete') else ''}: "
        f"{changes.get('new', 0):,} new, {changes.get('removed', 0):,} removed endpoints, "
        f"{findings.get('shadow', 0):,} shadow"
    )
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content("\n".join(lines))
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[3:7])
    warning = (
        f'<p style="background:#FFC7CE;color:#9C0006;font-weight:bold;padding:6px">{html.escape(banner)}</p>'
        if banner
        else ""
    )
    message.add_alternative(
        f"<html><body><h2>{html.escape(lines[0])}</h2>{warning}<ul>{items}</ul>"
        f"<p>{html.escape(lines[-1])}</p></body></html>",
        subtype="html",
    )
    message.add_attachment(
        workbook.read_bytes(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=workbook.name,
    )
    return message


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=settings.tls()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=settings.tls())
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise DeliveryError(f"SMTP server {where} refused the login of {settings.user}") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            f"SMTP server {where} does not offer STARTTLS; set APIINV_SMTP_SECURITY"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(
            f"SMTP server {where} refused the recipients {', '.join(exc.recipients)}"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise DeliveryError(f"SMTP server {where}: {type(exc).__name__}: {str(exc)[:160]}") from None
    except OSError as exc:
        raise DeliveryError(f"cannot reach SMTP server {where}: {exc.strerror or exc}") from None


def validate_addresses(addresses: list[str]) -> list[str]:
    bad = [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]
    if bad or not addresses:
        raise UsageError(f"not an e-mail address: {', '.join(bad) or '(none given)'}")
    return addresses
