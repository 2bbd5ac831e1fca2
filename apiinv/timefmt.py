"""Vendor timestamps to ISO 8601 UTC: Apigee epoch milliseconds as strings, Kong epoch seconds,
42Crunch and Cequence RFC 3339 (or empty)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


def _zone(timezone: str | None) -> tzinfo | None:
    import zoneinfo

    return zoneinfo.ZoneInfo(timezone) if timezone else datetime.now().astimezone().tzinfo


def today(timezone: str | None = None) -> date:
    """The one wall-clock date of apiinv: today in the planner's time zone (the machine's without one)."""
    return datetime.now(_zone(timezone)).date()


def end_of_day(day: date | str, timezone: str | None = None) -> datetime:
    """The instant a run date ends in the planner's time zone: every age in a report is measured from
    here, never from the wall clock, so a backfill or a re-export says what it said on its date."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day + timedelta(days=1), time(0), _zone(timezone)).astimezone(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def from_epoch_ms(value: str | int | float | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return iso(datetime.fromtimestamp(int(value) / 1000, UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_epoch_s(value: str | int | float | None) -> str | None:
    if value in (None, ""):
        return None
    try:
        return iso(datetime.fromtimestamp(float(value), UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def from_rfc3339(value: str | None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return iso(datetime.fromisoformat(text))
    except ValueError:
        return None


def parse(value: str | None) -> datetime | None:
    """An ISO string written by this module back to an aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
