"""Masking of credentials wherever text leaves the process: logs, error messages, raw files.

Two nets: every secret value the configuration resolved is registered and masked verbatim, and
well-known token shapes are masked by pattern even when nobody registered them.

And ``printable``: the one escaping of vendor text on its way to a person (terminal, log, mail, CSV).
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

SECRET_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "api_key",
        "apikey",
        "key",
        "token",
        "assertion",
        "private_key",
    }
)

_PATTERNS = [
    # 42Crunch tokens: api_ or ide_ followed by a UUID.
    re.compile(
        r"\b(?:api|ide)_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    ),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(r"(?i)(\bbasic\s+)[A-Za-z0-9+/]+=*"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|password|api_key|assertion|"
        r"private_key|x-api-key|kong-admin-token|authorization)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    # JWTs (Google assertions, Keycloak tokens).
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
]

# What a terminal, a log viewer or a mail client acts on instead of showing: C0 controls but tab (and
# line feed when lines are kept), DEL, C1 controls, and the bidi overrides and isolates that reorder
# what is shown ("Trojan Source").
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_regex: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a secret so that it is masked verbatim from now on (short values are ignored)."""
    global _secret_regex
    if not value or len(value) < 4:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secret_regex = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    if not text:
        return text
    regex = _secret_regex
    if regex is not None:
        text = regex.sub(MASK, text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text) if pattern.groups else pattern.sub(MASK, text)
    return text


def holds_secret(text: str) -> bool:
    """Whether ``text`` carries a registered secret or a well-known token shape."""
    return redact(text) != text


def printable(text: str, *, lines: bool = False, json: bool = False) -> str:
    """``text`` fit to show a person: every control character, C1 control and bidi override escaped
    visibly (ESC as ``\\x1b``, U+202E as ``\\u202e``), never dropped, since vendor text is data. One
    line unless ``lines`` keeps its line feeds. ``json`` is for JSON text, whose encoder escaped C0
    controls but leaves the rest raw: those get JSON's own ``\\u00XX`` form, and line feeds (its
    indentation) stay."""
    if text.isprintable():
        return text
    pattern = _UNPRINTABLE_BUT_LINES if lines or json else _UNPRINTABLE

    def escaped(match: re.Match[str]) -> str:
        code = ord(match[0])
        return f"\\x{code:02x}" if code < 0x100 and not json else f"\\u{code:04x}"

    return pattern.sub(escaped, text)


def redact_url(url: str) -> str:
    """A URL fit for logs: credentials in userinfo or secret-looking query parameters masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*")
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class RedactingFilter(logging.Filter):
    """Masks secrets in the final message and in any formatted traceback of a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
