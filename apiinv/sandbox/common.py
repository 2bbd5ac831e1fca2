"""What the vendor simulators share beyond HTTP: the estate on the current date, and time formats."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apiinv.sandbox.estate import Estate, EstateDay
from apiinv.sandbox.server import SimApp


class EstateApp(SimApp):
    """A simulator serving one vendor's view of a shared estate on a date the sandbox sets."""

    def __init__(self, estate: Estate, day: date | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.estate = estate
        self.date = day or date.today()
        self._views: dict[int, object] = {}
        self._view_lock = threading.Lock()

    def set_date(self, day: date) -> None:
        self.date = day

    @property
    def today(self) -> EstateDay:
        return self.estate.on(self.date)

    def view(self, build):
        """The vendor's documents for the current date, built once per date (thread-safe)."""
        key = self.date.toordinal()
        with self._view_lock:
            if key not in self._views:
                self._views = {key: build(self.estate.on(self.date))}
            return self._views[key]

    def on_day(self, ordinal: int, hour: int = 9) -> datetime:
        """A fixed moment: what a revision or an audit carries, whatever the current date."""
        day = date.fromordinal(ordinal)
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    def moment(self, days_ago: float, hour: int = 9) -> datetime:
        base = datetime(self.date.year, self.date.month, self.date.day, hour, tzinfo=UTC)
        return base - timedelta(days=days_ago)


# The simulators format timestamps the way each vendor does, with code of their own: sharing the
# parsers' helpers would let a parser and its simulator agree by construction, and hide a bug in both.
def rfc3339(moment: datetime) -> str:
    """42Crunch and Cequence: 2026-11-23T09:00:00.000Z (milliseconds, Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())


class SimulatorUnavailable(Exception):
    """A simulator whose optional dependency is not installed: the sandbox runs without it."""


class Simulator:
    """One vendor in the sandbox: its app over the shared estate, how apiinv reaches it (a tools.yaml
    entry and .env values), and what it holds (for tests). A source names its simulator module in
    ``SIMULATOR``; that module's ``Simulator`` class is built with the sandbox, so the sandbox, the demo
    and the tests find every vendor through the source registry."""

    def __init__(self, sandbox: Any, app: SimApp | None) -> None:
        self.sandbox = sandbox
        self.app = app  # None for a vendor that is files, not an API
        self.server: Any = None

    def start(self) -> str:
        """The URL it serves at ("" when it serves nothing)."""
        from apiinv.sandbox.server import SimServer

        if self.app is None:
            return ""
        self.server = SimServer(self.app).start()
        return str(self.server.url)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def set_date(self, day: date) -> None:
        if isinstance(self.app, EstateApp):
            self.app.set_date(day)

    def inject(self, kind: str, **options: Any) -> None:
        """A fault (see ``sandbox.server.FAULT_KINDS``) in what this vendor serves."""
        if self.app is not None:
            self.app.inject(kind, **options)

    def tool_entry(self, url: str, folder: Path) -> dict[str, Any]:
        """tools.yaml's entry for this simulator at ``url`` (files it needs go into ``folder``)."""
        raise NotImplementedError

    def env(self, folder: Path) -> dict[str, str]:
        """The .env values the entry refers to."""
        return {}

    def truth(self) -> dict[str, int]:
        """What the vendor holds on the current date, by the counts its source reports (every count
        named here; the source may report more)."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """What must never reach a file apiinv writes: the credentials apiinv is given for this vendor
        and the tokens the vendor has handed out."""
        return []
