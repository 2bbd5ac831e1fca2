"""The inventory record: building one (key and URL derived, defaults filled) and validating many."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from itertools import repeat
from operator import attrgetter, is_
from typing import TYPE_CHECKING, Any, ClassVar

from apiinv.inventory.keys import endpoint_key, join_path, normalize_host, normalize_method

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

FIELDS = (
    "tool",
    "instance",
    "collected_at",
    "api_id",
    "api_name",
    "collection",
    "environment",
    "host",
    "base_path",
    "method",
    "path",
    "url",
    "endpoint_key",
    "path_match",
    "auth_required",
    "auth_types",
    "sensitive_data",
    "risk_score",
    "risk_level",
    "audit_score",
    "audit_issues",
    "audit_date",
    "scan_state",
    "scan_issues",
    "first_seen",
    "last_seen",
    "last_modified",
    "status",
    "tags",
    "products",
    "owner",
)
_DEFAULTS: dict[str, Any] = {
    "collection": None,
    "environment": None,
    "auth_required": None,
    "risk_score": None,
    "risk_level": None,
    "audit_score": None,
    "audit_issues": None,
    "audit_date": None,
    "scan_state": None,
    "scan_issues": None,
    "first_seen": None,
    "last_seen": None,
    "last_modified": None,
    "owner": None,
}
RISK_LEVELS = ("critical", "high", "medium", "low", "info")
# Characters no spreadsheet cell (and no XML) may hold: removed from vendor text where it is written.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FrozenRow(Mapping[str, Any]):
    """A read-only row with its values in slots: a third of a dict's memory, and read like one
    (``row["host"]``, ``row.get``, ``{**row}``, ``dict(row)``). What the report stage holds by the
    hundred thousand: every tool's records and the merged inventory of a date. Subclasses name their
    fields in ``__slots__`` and ``FIELDS``."""

    __slots__ = ()
    FIELDS: ClassVar[tuple[str, ...]] = ()
    _NAMES: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._NAMES = frozenset(cls.FIELDS)

    @classmethod
    def of(cls, values: Mapping[str, Any], strings: dict[Any, Any] | None = None) -> Any:
        """A row of ``values`` (a field it lacks is None). With ``strings``, equal texts are stored
        once: hosts, methods, statuses and timestamps repeat across records; and so are equal lists
        of texts (an empty list is one shared list), so the values must not be changed in place
        (nothing does)."""
        row = object.__new__(cls)
        put = object.__setattr__
        if strings is None:
            for name in cls.FIELDS:
                put(row, name, values.get(name))
            return row
        share = strings.setdefault
        for name in cls.FIELDS:
            value = values.get(name)
            if value is None:
                pass
            elif isinstance(value, str):
                value = share(value, value)
            elif isinstance(value, list):
                value = _shared_list(value, strings)
            elif isinstance(value, dict):
                value = _shared_dict(value, strings)
            put(row, name, value)
        return row

    def __getitem__(self, key: str) -> Any:
        if key in self._NAMES:
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping's get goes through __getitem__ and its KeyError; a workbook calls this per cell.
        return getattr(self, key) if key in self._NAMES else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.FIELDS)

    def __len__(self) -> int:
        return len(self.FIELDS)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self)!r})"


_EMPTY: list[Any] = []


def _shared_list(value: list[Any], strings: dict[Any, Any]) -> list[Any]:
    """``value`` with its texts shared; a list of texts only is itself stored once per content (auth
    types, sensitive data, tags and products repeat across records: 619,000 lists at 10,000 APIs)."""
    if not value:
        return _EMPTY
    share = strings.setdefault
    if not all(isinstance(v, str) for v in value):
        return [share(v, v) if isinstance(v, str) else v for v in value]
    texts = tuple(share(v, v) for v in value)
    found = strings.get(texts)
    if found is None:
        found = strings[texts] = list(texts)
    return found


# Values whose equal ones are written alike (unlike 1, 1.0 and True, or 0.0 and -0.0).
_ALIKE_WHEN_EQUAL = (str, int, type(None))


def _shared_dict(value: dict[str, Any], strings: dict[Any, Any]) -> dict[str, Any]:
    """``value`` stored once per content (its items in order) when its values are texts, whole numbers
    or None: audit issue counts by severity take few contents (42,807 dicts of 13 at 10,000 APIs)."""
    if not all(type(v) in _ALIKE_WHEN_EQUAL for v in value.values()):
        return value
    items = (dict, tuple(value.items()))
    found = strings.get(items)
    if found is None:
        found = strings[items] = value
    return found


# What analysis and reports take: a record or a merged row, as a dict or a FrozenRow.
Row = Mapping[str, Any]


class Record(FrozenRow):
    """An inventory record as read back from a processed file."""

    __slots__ = FIELDS
    FIELDS = FIELDS


def compact(records: Iterable[Mapping[str, Any]], strings: dict[Any, Any] | None = None) -> list[Row]:
    """Records as read-only rows, equal texts shared through ``strings`` (one dict for a whole date),
    and the fields that hold one value in every record (``narrowed``) held once, not in each row."""
    strings = {} if strings is None else strings
    rows: list[Row] = [Record.of(record, strings) for record in records]
    return narrowed(rows)


def narrowed(rows: list[Row]) -> list[Row]:
    """``rows`` (in place) as rows of a class of their own whose fields that hold the same object in
    every row (a tool's name and collection time; the fields its vendor never fills, None) are class
    attributes rather than slots: a tool fills about half of the 31 fields, so this halves the slots
    of the 157,649 records of 10,000 APIs (20 MB of 39). They read and compare as before."""
    if len(rows) < 2:
        return rows
    constant: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(rows[0], name)
        if all(map(is_, map(attrgetter(name), rows), repeat(value))):
            constant[name] = value
    if not constant:
        return rows
    varying = tuple(name for name in FIELDS if name not in constant)
    narrow = type("Record", (FrozenRow,), {"__slots__": varying, "FIELDS": FIELDS, **constant})
    put = object.__setattr__
    for at, row in enumerate(rows):
        new: Any = object.__new__(narrow)
        for name in varying:
            put(new, name, getattr(row, name))
        rows[at] = new
    return rows


def plain(value: Any) -> Any:
    """orjson's ``default``: a row as the dict it reads as."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else {}: vendors drop and retype fields over time."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return None if isinstance(value, dict | list) else str(value)


def make_record(
    *,
    tool: str,
    instance: str,
    collected_at: str | None,
    api_id: Any,
    api_name: str | None,
    host: str | None,
    base_path: str | None,
    method: str | None,
    path: str | None,
    status: str,
    scheme: str = "https",
    path_match: str = "exact",
    **optional: Any,
) -> dict[str, Any]:
    host_text = (as_text(host) or "").strip()
    base_path, path, method = as_text(base_path), as_text(path), as_text(method)
    full_path = join_path(base_path, path)
    record = {
        **_DEFAULTS,
        "tool": tool,
        "instance": instance,
        "collected_at": collected_at,
        "api_id": str(api_id) if api_id is not None else "",
        "api_name": api_name,
        "host": host_text,
        "base_path": base_path or "",
        "method": normalize_method(method),
        "path": path or "",
        "url": f"{scheme}://{normalize_host(host_text)}{full_path}" if host_text else full_path,
        "endpoint_key": endpoint_key(method, host_text, base_path, path),
        "path_match": path_match,
        "auth_types": [],
        "sensitive_data": [],
        "status": status,
        "tags": [],
        "products": [],
    }
    record.update(optional)
    return {name: record[name] for name in FIELDS}


def risk_level(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    return text if text in RISK_LEVELS else None


@cache
def _validators() -> tuple[Callable[[Any], Any], Validator]:
    """(fast check, full report): fastjsonschema compiles the schema to code, about 30x quicker than
    jsonschema per record; jsonschema then names every reason for the rare invalid record."""
    import fastjsonschema
    from jsonschema import Draft202012Validator

    from apiinv.schemas import packaged

    return fastjsonschema.compile(packaged("record")), Draft202012Validator(packaged("record"))


def problems(record: dict[str, Any]) -> list[str]:
    """Why a record is invalid ([] when it is valid)."""
    import fastjsonschema

    fast, full = _validators()
    try:
        fast(record)
        return []
    except fastjsonschema.JsonSchemaValueException:
        return [
            f"{'.'.join(map(str, e.absolute_path)) or '(record)'}: {e.message[:160]}"
            for e in full.iter_errors(record)
        ]
