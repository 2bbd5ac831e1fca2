"""The inventory record: as built, and as the report stage holds it."""

from __future__ import annotations

import pytest

from apiinv.inventory.records import make_record


def _item(n: int, tool: str = "kong", **fields: object) -> dict:
    """The n-th record of a tool's listing on one host."""
    values: dict = {"api_id": n, "method": "GET", "status": "active", **fields}
    return make_record(
        tool=tool,
        instance=tool,
        collected_at="2026-11-23T00:00:00Z",
        api_name=None,
        host="api.acme.example",
        base_path="",
        path=f"/v1/items/{n}",
        **values,
    )


def test_a_loaded_record_reads_like_its_dict_shares_its_texts_and_is_read_only() -> None:
    """What the report stage holds by the hundred thousand: a third of a dict's memory, same reads."""
    import sys

    import orjson

    from apiinv.inventory.records import compact, plain

    written = [_item(n, tags=["team:a"]) for n in range(2)]
    first, second = compact(written)
    assert dict(first) == written[0] and {**second} == written[1]
    assert first["host"] is second["host"] and first["tags"][0] is second["tags"][0]
    assert first["tags"] is second["tags"] == ["team:a"]  # equal lists of texts: stored once
    mixed = compact([{**written[0], "tags": ["team:a", 1]}, {**written[1], "tags": ["team:a", 1]}])
    assert mixed[0]["tags"] == mixed[1]["tags"] == ["team:a", 1] and mixed[0]["tags"] is not mixed[1]["tags"]
    issues = {"critical": 0, "high": 1}
    counted = compact([{**written[n], "audit_issues": dict(issues)} for n in range(2)])
    assert counted[0]["audit_issues"] is counted[1]["audit_issues"] == issues  # equal counts: once
    reordered = compact(
        [{**written[0], "audit_issues": issues}, {**written[1], "audit_issues": {"high": 1, "critical": 0}}]
    )
    assert list(reordered[1]["audit_issues"]) == ["high", "critical"]  # written in its own order
    nested = compact([{**written[n], "audit_issues": {"by": ["a"]}} for n in range(2)])
    assert nested[0]["audit_issues"] is not nested[1]["audit_issues"]  # only dicts of plain values
    unlike = compact(
        [{**written[0], "audit_issues": {"high": 1}}, {**written[1], "audit_issues": {"high": True}}]
    )
    assert [row["audit_issues"]["high"] for row in unlike] == [1, True]  # equal, but written unlike
    assert type(unlike[1]["audit_issues"]["high"]) is bool
    assert first.get("nope") is None and "host" in first and len(first) == len(written[0])
    assert orjson.loads(orjson.dumps([first], default=plain)) == [written[0]]
    assert sys.getsizeof(first) * 2 < sys.getsizeof(written[0])
    with pytest.raises(KeyError):
        first["nope"]
    with pytest.raises(AttributeError):
        first.host = "elsewhere"  # type: ignore[misc]


def test_a_loaded_record_gets_its_fields_and_the_default_for_any_other_name() -> None:
    from apiinv.inventory.records import compact

    (row,) = compact(
        [
            make_record(
                tool="kong",
                instance="kong",
                collected_at=None,
                api_id=1,
                api_name=None,
                host="api.acme.example",
                base_path="",
                method="GET",
                path="/v1",
                status="active",
            )
        ]
    )
    assert row.get("host") == "api.acme.example" and row.get("api_name", "x") is None
    assert row.get("nope") is None and row.get("nope", 0) == 0
    assert row.get("__class__", "default") == "default"  # an attribute, not a field


def test_fields_one_value_in_every_record_are_held_once_and_rows_read_as_before() -> None:
    from apiinv.inventory.records import FIELDS, compact

    written = [
        _item(n, "cequence", api_id=None, method=method, risk_score=float(n) if n else None)
        for n, method in enumerate(["GET", "POST", "GET"])
    ]
    rows = compact(written)
    assert [dict(row) for row in rows] == written and [row.get("tool") for row in rows] == ["cequence"] * 3
    held = set(type(rows[0]).__slots__)
    assert {"method", "path", "risk_score", "endpoint_key"} <= held  # they differ between records
    assert not held & {"tool", "collected_at", "host", "owner", "first_seen"}  # one value: held once
    assert held < set(FIELDS) and all(type(row) is type(rows[0]) for row in rows)
    (alone,) = compact(written[:1])
    assert dict(alone) == written[0]
    with pytest.raises(AttributeError):
        rows[0].tool = "kong"  # type: ignore[misc]
