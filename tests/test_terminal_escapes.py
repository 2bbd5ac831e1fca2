"""Vendor text that would act on a terminal (escape sequences, a bare CR that forges an "ok" line, NUL,
backspace, C1 controls, bidi overrides) reaches people only escaped, visibly: on the console, in the
log, in `status`, in CSV cells and in the mail; the raw file and the JSON report keep it as data."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import RUN_DATE
from hostile_api import HostileServer

DATE = str(RUN_DATE)
# An OSC retitle, a CSI screen wipe, a CR that forges an "ok" line over the real one, NUL, backspace,
# a C1 CSI, a right-to-left override and a first-strong isolate.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rok: all fine\x00\x08\x9bX\u202egpj.exe\u2066"
ESCAPED = r"\x1b]0;pwned\x07\x1b[2J\x0dok: all fine\x00\x08\x9bX\u202egpj.exe\u2066"
# What a terminal or a mail reader would act on (tab and line feed are text).
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _rest_tool(url: str, listings: dict[str, str]) -> dict:
    return {
        "type": "rest",
        "role": "gateway",
        "api_base_url": url,
        "auth_type": "none",
        "endpoints": {name: {"path": path, "items": None} for name, path in listings.items()},
        "fields": {"method": "method", "path": "path", "host": "host", "api_name": "name"},
    }


@pytest.fixture
def hostile_config(tmp_path: Path, smtp):
    """Two rest tools at one hostile server. ``names`` lists an endpoint whose path and name carry the
    sequences, and has an optional listing that fails (a warning quoting the answer); ``broken`` gets a
    400 whose body carries them (the error quotes it). Mail goes to the local SMTP server."""
    inbox, port = smtp
    with HostileServer() as server:
        endpoint = {"method": "GET", "path": "/v1/" + HOSTILE, "host": "a.example", "name": HOSTILE}
        server.route("/names", lambda h: h.send_json([endpoint]))
        server.route("/broken", lambda h: h.send_bytes(HOSTILE.encode(), 400, "text/plain; charset=utf-8"))
        folder = tmp_path / "config"
        folder.mkdir()
        (folder / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
        tools = {
            "names": _rest_tool(server.url, {"inventory": "/names", "extras": "/broken"}),
            "broken": _rest_tool(server.url, {"inventory": "/broken"}),
        }
        (folder / "tools.yaml").write_text(yaml.safe_dump(tools))
        (folder / ".env").write_text(
            f"APIINV_SMTP_HOST=127.0.0.1\nAPIINV_SMTP_PORT={port}\nAPIINV_SMTP_SECURITY=none\n"
        )
        yield folder, inbox


def _shown_escaped(text: str, where: str) -> None:
    assert not RAW.findall(text), f"{where} holds raw {sorted(set(RAW.findall(text)))!r}"
    assert ESCAPED in text, f"{where} does not show the vendor text escaped"


def test_vendor_control_sequences_reach_people_escaped_never_raw(cli, hostile_config) -> None:
    folder, inbox = hostile_config

    collect = cli("--date", DATE, "collect", "--all", config_dir=folder)
    assert collect.exit_code == 5, collect.output  # partial: broken failed
    _shown_escaped(collect.stderr, "collect's stderr")
    warning = next(line for line in collect.stderr.split("\n") if "optional listing extras" in line)
    assert ESCAPED in warning  # a log line on the console, as cron's log keeps it
    mail = ("--mail-to", "sec@acme.example")
    run = cli("--date", DATE, "run", "--all", "--format", "xlsx,csv", *mail, config_dir=folder)
    assert run.exit_code == 5, run.output
    _shown_escaped(run.stderr, "run's stderr")
    assert not RAW.findall(run.stdout)

    status = cli("--date", DATE, "status", config_dir=folder)
    assert status.exit_code == 0, status.output
    _shown_escaped(status.stdout, "status")
    as_json = cli("--date", DATE, "status", "--json", config_dir=folder)
    assert not RAW.findall(as_json.stdout), "status --json holds raw characters"
    errors = json.loads(as_json.stdout)["tools"]["broken"]["collect"]["errors"]
    assert errors[0]["message"].endswith(HOSTILE)  # JSON escapes, the text itself is intact

    log = (cli.output / "logs" / "apiinv.log").read_text()
    assert not RAW.findall(log), "the log holds raw characters"
    assert any(json.loads(line)["msg"].endswith(HOSTILE) for line in log.splitlines())

    with open(cli.output / DATE / "csv" / f"inventory-{DATE}.csv", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if RAW.search(cell)], "a CSV cell holds raw characters"
    assert "a.example/v1/" + ESCAPED in " ".join(cells) and ESCAPED in cells  # escaped, never dropped

    (message,) = inbox.messages
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content().replace("\r\n", "\n")  # SMTP's own line ends
        _shown_escaped(body, f"the mail's {kind} part")

    # Data keeps the vendor's text as it came: the raw file and the JSON report are JSON-escaped only.
    raw = json.loads((cli.output / DATE / "raw" / "names.json").read_text())
    assert raw["data"]["endpoints"][0]["name"] == HOSTILE


def test_an_error_line_shows_control_characters_escaped(cli, tmp_path: Path) -> None:
    """The one-line error every command ends with names what it was given, escaped."""
    named = HOSTILE.replace("\x00", "")  # the one character no file name can hold
    result = cli("status", output=tmp_path / named)
    assert result.exit_code == 2, result.output
    assert not RAW.findall(result.stderr), result.stderr
    assert ESCAPED.replace(r"\x00", "") in result.stderr


def test_tools_check_quotes_a_vendors_answer_escaped(cli, hostile_config) -> None:
    folder, _ = hostile_config
    result = cli("tools", "--check", config_dir=folder)
    assert result.exit_code != 0
    _shown_escaped(result.output, "tools --check")


def test_a_warning_during_a_live_progress_display_is_printed_above_it_not_under_it(monkeypatch) -> None:
    """rich's live display swaps sys.stderr for a proxy that prints above the display; a log handler
    holding the stream it was made with wrote under it instead: the next frame overwrote the warning
    and the display's erase left stale spinner lines in the scrollback (seen in tmux with the demo)."""
    import io
    import logging

    from apiinv.logs import get_logger, setup_logging

    setup_logging(None)
    try:
        swapped = io.StringIO()
        monkeypatch.setattr("sys.stderr", swapped)  # what rich's Live does while it runs
        get_logger("sources").warning("specs/broken.yaml: invalid OpenAPI document")
        assert "specs/broken.yaml: invalid OpenAPI document" in swapped.getvalue()
    finally:
        logging.getLogger("apiinv").handlers.clear()
