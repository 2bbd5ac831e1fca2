"""What the vendor simulators share beyond HTTP: the estate on the current date, and time formats."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

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
