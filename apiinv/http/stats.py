"""What one tool's client did: counted by its transport, cache and listings, reported in the manifest."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestStats:
    """What one tool's client did; thread-safe, reported in the manifest."""

    requests: int = 0
    cache_hits: int = 0
    revalidated: int = 0  # answered 304 Not Modified: the body came from the cache, not the wire
    retries: int = 0
    pages: int = 0
    auth_refreshes: int = 0
    rate_limit_wait: float = 0.0
    stops: Counter[str] = field(default_factory=Counter)
    truncated: list[str] = field(default_factory=list)  # "listing (why)": stopped before their end
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def stopped(self, reason: str, *, truncated: str | None = None) -> None:
        with self._lock:
            self.stops[reason] += 1
            if truncated is not None:
                self.truncated.append(f"{truncated} ({reason})")

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "revalidated": self.revalidated,
            "retries": self.retries,
            "pages": self.pages,
            "auth_refreshes": self.auth_refreshes,
            "rate_limit_wait_s": round(self.rate_limit_wait, 3),
            "pagination_stops": dict(self.stops),
        }
