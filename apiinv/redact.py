"""Masking of credentials wherever text leaves the process: logs, error messages, raw files.

Two nets: every secret value the configuration resolved is registered and masked verbatim, and
well-known token shapes are masked by pattern even when nobody registered them.
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
