"""`apiinv mail`: the dated workbook to the security team, with a short plain-text and HTML body.

SMTP settings come from the environment or .env: APIINV_SMTP_HOST, APIINV_SMTP_PORT,
APIINV_SMTP_SECURITY (starttls, ssl or none; default starttls), APIINV_SMTP_USER,
APIINV_SMTP_PASSWORD, APIINV_MAIL_FROM, and APIINV_SMTP_CA_BUNDLE for a server whose certificate a
private CA signed.
"""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from apiinv.analysis import priority
from apiinv.analysis.findings import FINDINGS, TITLES
from apiinv.errors import ConfigurationError, DeliveryError, UsageError
from apiinv.redact import printable, register_secret


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
            # this host's name, not the SMTP server's (apiinv@127.0.0.1 is refused by strict servers)
            env.get("APIINV_MAIL_FROM") or f"apiinv@{socket.getfqdn()}",
            ca_bundle=env.get("APIINV_SMTP_CA_BUNDLE"),
        )


def has_changes(summary: dict[str, Any]) -> bool:
    changes = summary.get("changes") or {}
    return any(changes.get(k) for k in ("new", "removed", "changed"))


CELL = "border:1px solid #BFBFBF;padding:3px 6px;font-size:13px;text-align:left"
HEAD = CELL + ";background:#1F3864;color:#FFFFFF"
RISK_STYLE = {
    "critical": "background:#C00000;color:#FFFFFF",
    "high": "background:#FF6A00;color:#FFFFFF",
    "medium": "background:#FFC000",
    "low": "background:#70AD47",
}


def _html(text: str) -> str:
    """Vendor text in the HTML part: markup escaped, and control and bidi characters shown escaped, as
    in the text part (an override would reorder what the reader sees)."""
    return html.escape(printable(text))


def _rows_text(rows: list[dict[str, Any]]) -> list[str]:
    return [f"  - [{r['risk_level']}] {r['endpoint_key']}  ({r['reason']})" for r in rows]


def _table_html(headers: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """A table with inline styles only: each cell its text and any extra style."""
    if not rows:
        return ""
    head = "".join(f'<th style="{HEAD}">{_html(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="{CELL};{style}">{_html(text)}</td>' for text, style in row) + "</tr>"
        for row in rows
    )
    return f'<table style="border-collapse:collapse;margin:4px 0 12px 0"><tr>{head}</tr>{body}</table>'


def _rows_html(rows: list[dict[str, Any]], more: int) -> str:
    table = _table_html(
        ["risk", "endpoint", "why"],
        [
            [
                (r["risk_level"], RISK_STYLE.get(r["risk_level"], "")),
                (r["endpoint_key"], "font-family:monospace"),
                (str(r["reason"]), ""),
            ]
            for r in rows
        ],
    )
    tail = (
        f'<p style="font-size:12px;color:#595959">and {more:,} more in the workbook</p>'
        if more > 0 and rows
        else ""
    )
    return table + tail


def _split_text(split: dict[str, int]) -> str:
    return ", ".join(f"{level} {count:,}" for level, count in split.items() if count)


def _act_first(digest: dict[str, Any], full: bool) -> tuple[list[str], str]:
    """The body's opening: the endpoints to act on first (text lines, HTML); counts only unless ``full``."""
    items = digest.get("act_first") or []
    title = "Act first"
    if not items:
        return [
            title,
            "  Nothing: no finding this run.",
        ], f"<h3>{title}</h3><p>Nothing: no finding this run.</p>"
    if not full:
        by_finding: dict[str, int] = {}
        for item in items:
            by_finding[item["sheet"]] = by_finding.get(item["sheet"], 0) + 1
        line = (
            f"  {len(items)} endpoints to act on first: "
            + ", ".join(f"{count} {sheet.lower()}" for sheet, count in by_finding.items())
            + ". The attachment is encrypted, so they are named only in its Summary sheet."
        )
        return [title, line], f'<h3 style="color:#C00000">{title}</h3><p>{_html(line.strip())}</p>'
    lines = [title]
    rows = []
    for item in items:
        exposed = f" ({', '.join(item['exposure'])})" if item["exposure"] else ""
        lines.append(
            f"  {item['rank']}. [{item['risk_level']}] {item['endpoint_key']}: {item['reason']}{exposed}"
            f" [sheet {item['sheet']}]"
        )
        rows.append(
            [
                (str(item["rank"]), ""),
                (item["risk_level"], RISK_STYLE.get(item["risk_level"], "")),
                (item["endpoint_key"], "font-family:monospace"),
                (item["reason"] + exposed, ""),
                (item["sheet"], ""),
            ]
        )
    table = _table_html(["#", "risk", "endpoint", "why", "sheet"], rows)
    return lines, f'<h3 style="color:#C00000;margin:14px 0 2px 0">{title}</h3>{table}'


def _stands_in(tool: str, data_date: str | None, day: str) -> str:
    """What stands in for a tool that failed this run: its data of an earlier run, or none."""
    if data_date is None:
        return f"{tool} (no data)"
    if data_date == day:
        return f"{tool} (its data of {day} from an earlier run of this date stands in)"
    return f"{tool} (its data of {data_date} stands in)"


def _data_line(summary: dict[str, Any], day: str) -> str:
    """The body's first sentence when no banner says the data is incomplete: every tool's data is of the
    date, but a tool that failed this run stands on an earlier run of the same date, said by name."""
    dates = summary.get("data_dates") or {}
    earlier = [t for t in summary.get("failed_tools") or [] if dates.get(t) == day]
    if not earlier:
        return "Every tool's data is from this date."
    return (
        " ".join(
            f"{tool} failed this run: its data of {day} from an earlier run of this date stands in."
            for tool in earlier
        )
        + " Every other tool's data is from this run."
    )


def subject_line(summary: dict[str, Any], digest: dict[str, Any], day: str) -> str:
    """The default subject: critical findings and new endpoints counted, the most urgent finding named."""
    changes = summary.get("changes") or {}
    critical = digest.get("critical", 0)
    first = digest.get("act_first") or []
    return (
        f"API inventory {day}{' (INCOMPLETE)' if summary.get('incomplete') else ''}: "
        f"{critical:,} critical, {changes.get('new', 0):,} new"
        + (f"; act first: {first[0]['sheet'].lower()}" if first else "")
    )


def compose(
    summary: dict[str, Any],
    day: str,
    workbook: Path,
    to: list[str],
    sender: str,
    subject: str | None = None,
    *,
    digest: dict[str, Any] | None = None,
    password: str | None = None,
    body: str | None = None,
) -> EmailMessage:
    """The report mail: a digest worth reading on its own (text and HTML with inline CSS only), opening
    with what to act on first, and the workbook attached, password-protected when ``password`` is given
    (the password is never in the mail). ``body``: ``full`` names endpoints, ``counts`` only counts; by
    default counts only when the attachment is encrypted, since the body is not."""
    banner = summary.get("banner")
    digest = digest or {}
    full = body == "full" if body else not password
    headline = _headline(summary, day)
    closing = (
        f"The workbook {workbook.name} is attached. It maps our API attack surface: keep it confidential."
    )
    if password:
        closing += " It is password-protected; the password reaches you another way."
    act_text, act_html = _act_first(digest, full)
    text = [f"API inventory for {day}", "", banner or _data_line(summary, day), ""]
    text += [*act_text, "", *headline]
    parts_html = []
    for section_text, section_html in _sections(summary, digest, full):
        text += section_text
        parts_html.append(section_html)
    text += ["", closing]

    message = _envelope(subject or subject_line(summary, digest, day), sender, to)
    message.set_content("\n".join(printable(line) for line in text))
    warning = (
        f'<p style="background:#FFC7CE;color:#9C0006;font-weight:bold;padding:6px">{_html(banner)}</p>'
        if banner
        else ""
    )
    items = "".join(f"<li>{_html(line)}</li>" for line in headline)
    message.add_alternative(
        f'<html><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#000000">'
        f'<h2 style="color:#1F3864">{_html(text[0])}</h2>{warning}{act_html}<ul>{items}</ul>'
        f"{''.join(parts_html)}<p>{_html(closing)}</p></body></html>",
        subtype="html",
    )
    _attach_workbook(message, workbook, password)
    return message


def _headline(summary: dict[str, Any], day: str) -> list[str]:
    """The run in four lines: endpoints, changes, findings, failed tools (and whose data stands in)."""
    changes, findings = summary.get("changes") or {}, summary.get("findings") or {}
    failed = summary.get("failed_tools") or []
    baseline = summary.get("baseline") or []
    return [
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
        (
            "Tools that failed this run: "
            + ", ".join(_stands_in(t, (summary.get("data_dates") or {}).get(t), day) for t in failed)
        )
        if failed
        else "All tools collected and processed.",
    ]


def _sections(summary: dict[str, Any], digest: dict[str, Any], full: bool) -> Iterator[tuple[list[str], str]]:
    """(text lines, HTML) of each finding, then of the new and the removed endpoints."""
    changes, findings = summary.get("changes") or {}, summary.get("findings") or {}
    notes = summary.get("finding_notes") or {}
    for name in FINDINGS:
        entry = (digest.get("findings") or {}).get(name) or {"count": findings.get(name, 0), "top": []}
        title = f"{TITLES[name]}: {entry['count']:,}"
        if entry.get("split") and entry["count"]:
            title += f" ({_split_text(entry['split'])})"
        if name in notes:
            title += f" [{notes[name]}]"
        top = entry["top"] if full else []
        grouped = priority.describe_groups(entry) if full and entry.get("groups") else ""
        yield _section(title, top, entry["count"] - len(top) - entry.get("grouped", 0), grouped)
    for kind in ("new", "removed"):
        entry = digest.get(kind) or {"count": changes.get(kind, 0), "top": []}
        top = entry["top"] if full else []
        yield _section(f"{kind.capitalize()} endpoints: {entry['count']:,}", top, entry["count"] - len(top))


def _section(title: str, top: list[dict[str, Any]], more: int, grouped: str = "") -> tuple[list[str], str]:
    """One part of the body: its title, the endpoints named (``more`` left to the workbook) and the rest
    grouped by API."""
    text = ["", title, *_rows_text(top)]
    if more > 0 and top:
        text.append(f"  ... and {more:,} more in the workbook")
    if grouped:
        text.append(f"  Grouped (low or unknown risk, one decision per API): {grouped}")
    return text, (
        f'<h3 style="margin:14px 0 2px 0;font-size:15px">{_html(title)}</h3>'
        + _rows_html(top, more)
        + (f'<p style="font-size:12px">Grouped by API: {_html(grouped)}</p>' if grouped else "")
    )


def _attach_workbook(message: EmailMessage, workbook: Path, password: str | None) -> None:
    content = encrypt_workbook(workbook, password) if password else workbook.read_bytes()
    message.add_attachment(
        content,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=workbook.name,
    )


def compose_failure(
    day: str, schedule: str | None, lines: list[str], to: list[str], sender: str
) -> EmailMessage:
    """A run that produced no report still tells its people, in a mail with no attachment."""
    what = f"schedule {schedule}" if schedule else "apiinv run"
    message = _envelope(f"API inventory {day}: FAILED ({what})", sender, to)
    body = [
        f"The {what} for {day} failed: no report was written.",
        "",
        *lines,
        "",
        "Details are in output/logs/apiinv.log under the error ids above.",
    ]
    message.set_content("\n".join(printable(line) for line in body))
    return message


def _envelope(subject: str, sender: str, to: list[str]) -> EmailMessage:
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "apiinv.localhost")
    return message


def encrypt_workbook(workbook: Path, password: str) -> bytes:
    """The workbook under standard Office encryption (ECMA-376 agile, what Excel and LibreOffice open
    with the password), in memory: the encrypted copy is never written next to the report."""
    import io

    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    with open(workbook, "rb") as handle:
        OOXMLFile(handle).encrypt(password, encrypted)
    return encrypted.getvalue()


def attachment_password(env: dict[str, str]) -> str:
    password = env.get("APIINV_ATTACHMENT_PASSWORD") or ""
    if len(password) < 8:
        raise ConfigurationError(
            "mail_encrypt is set but APIINV_ATTACHMENT_PASSWORD is not (or is shorter than 8 characters)"
        )
    register_secret(password)
    return password


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


def mail_report(
    summary: dict[str, Any],
    digest: dict[str, Any] | None,
    day: str,
    workbook: Path,
    to: list[str],
    env: dict[str, str],
    *,
    subject: str | None = None,
    encrypt: bool = False,
    body: str | None = None,
) -> None:
    """Compose and send a date's report mail: the one path of ``apiinv mail`` and of scheduled runs."""
    settings = SmtpSettings.from_env(env)
    message = compose(
        summary,
        day,
        workbook,
        validate_addresses(to),
        settings.sender,
        subject,
        digest=digest,
        password=attachment_password(env) if encrypt else None,
        body=body,
    )
    send(message, settings)
