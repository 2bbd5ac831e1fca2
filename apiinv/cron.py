"""Cron expressions as cron itself (Vixie/Debian cron, and Kubernetes' CronJob) reads them: the one
validator behind validate-config and every rendering (crontab, systemd, Kubernetes).

Five fields, each a list of ``*``, ``N``, ``N-M``, ``*/S`` or ``N-M/S``; month and weekday also take
three-letter names; weekday 7 is Sunday. The macros (``@daily`` ...) stand for their five fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apiinv.errors import ConfigurationError

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NAMES = {
    "month": {name: index for index, name in enumerate(_MONTHS, 1)},
    "day of week": {name: index for index, name in enumerate(_WEEKDAYS)},
}
_ELEMENT = re.compile(r"(?:(?P<star>\*)|(?P<start>\w+)(?:-(?P<end>\w+))?)(?:/(?P<step>\d+))?")


@dataclass(frozen=True)
class Field:
    """One field: its text with names as numbers, and the values it matches."""

    text: str
    values: tuple[int, ...]

    @property
    def starred(self) -> bool:
        """Cron's rule for the two day fields: one starting with ``*`` does not restrict the day."""
        return self.text.startswith("*")


@dataclass(frozen=True)
class Cron:
    minute: Field
    hour: Field
    day_of_month: Field
    month: Field
    day_of_week: Field

    @property
    def either_day(self) -> bool:
        """Both day fields restricted: cron runs when EITHER matches (not when both do)."""
        return not self.day_of_month.starred and not self.day_of_week.starred


def _number(token: str, name: str, low: int, high: int, expression: str) -> int:
    if token.isdigit():
        number = int(token)
    elif token.lower() in _NAMES.get(name, {}):
        number = _NAMES[name][token.lower()]
    else:
        raise ConfigurationError(
            f"{expression!r}: {name} {token!r} is neither a number nor a name cron knows"
        )
    if not low <= number <= high:
        raise ConfigurationError(f"{expression!r}: {name} {number} is out of range {low}-{high}")
    return number


def _field(text: str, name: str, low: int, high: int, expression: str) -> Field:
    values: set[int] = set()
    parts = []
    for part in text.split(","):
        element = _ELEMENT.fullmatch(part)
        if element is None:
            raise ConfigurationError(f"{expression!r}: {name} {text!r} holds a character cron does not know")
        step = int(element["step"] or 1)
        if step < 1:
            raise ConfigurationError(f"{expression!r}: {name} step 0 never matches")
        if element["star"]:
            start, end = low, high
            parts.append(part)
        else:
            if element["step"] and not element["end"]:
                raise ConfigurationError(
                    f"{expression!r}: {name} {part!r}: cron steps a range or *, not one value"
                )
            start = _number(element["start"], name, low, high, expression)
            end = _number(element["end"], name, low, high, expression) if element["end"] else start
            if end < start:
                raise ConfigurationError(f"{expression!r}: {name} {part!r} runs backwards")
            parts.append(
                f"{start}-{end}/{step}"
                if element["step"]
                else f"{start}-{end}"
                if element["end"]
                else str(start)
            )
        values.update(range(start, end + 1, step))
    if name == "day of week" and 7 in values:  # 7 is Sunday too
        values = (values - {7}) | {0}
    return Field(",".join(parts), tuple(sorted(values)))


def parse(expression: str) -> Cron:
    """The expression's five fields, or ConfigurationError naming what cron would refuse."""
    if expression.startswith("@") and expression not in MACROS:
        raise ConfigurationError(
            f"{expression!r} is not a schedule at a time; use five fields or one of {', '.join(MACROS)}"
        )
    texts = MACROS.get(expression, expression).split()
    if len(texts) != len(FIELDS):
        raise ConfigurationError(
            f"{expression!r} has {len(texts)} field(s); cron needs five: minute hour day month weekday"
        )
    return Cron(*(_field(text, *spec, expression) for text, spec in zip(texts, FIELDS, strict=True)))


def problem(expression: str) -> str | None:
    """What is wrong with the expression ("hour 25 is out of range 0-23"), or None."""
    try:
        parse(expression)
    except ConfigurationError as exc:
        return exc.message
    return None
