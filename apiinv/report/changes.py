"""The ``apiinv diff`` output: changes as text lines or JSON."""

from __future__ import annotations

from datetime import date

from apiinv.analysis.changes import ToolChanges


def render_text(results: list[ToolChanges]) -> str:
    lines = []
    for result in results:
        counts = result.counts()
        lines.append(
            f"{result.tool}: {counts['new']} new, {counts['removed']} removed, {counts['changed']} changed"
            + (f" ({result.note})" if result.note else "")
        )
    for result in results:
        for row in result.rows():
            detail = (
                f"  {row['fields']}: {row['before']} -> {row['after']}" if row["change"] == "changed" else ""
            )
            lines.append(f"{row['change']:8} {row['tool']:9} {row['endpoint_key']}{detail}")
    return "\n".join(lines)


def render_json(results: list[ToolChanges], before: date, after: date) -> str:
    import orjson

    return orjson.dumps(
        {
            "from": str(before),
            "to": str(after),
            "tools": {r.tool: {**r.counts(), "note": r.note} for r in results},
            "changes": [row for r in results for row in r.rows()],
        },
        option=orjson.OPT_INDENT_2,
    ).decode()
