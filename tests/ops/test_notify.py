"""Notifications through apprise to a real local webhook (json://), as planner.yaml's notify: says."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import RUN_DATE
from hostile_api import HostileServer

DAY = str(RUN_DATE)
HOOK_TOKEN = "hook-token-7f3a9c2e51d84b06"


@pytest.fixture
def webhook():
    with HostileServer() as server:
        server.route("/hook", lambda h: h.send_json({"ok": True}))
        server.route("/broken", lambda h: h.send_json({"error": "down"}, 500))
        yield server


def posts(server, path: str = "/hook") -> list[dict]:
    return [json.loads(r["body"]) for r in server.received if r["path"].startswith(path)]


def planner(sandbox, webhook, *, notify_on: str = "", path: str = "hook") -> None:
    port = webhook.server_address[1]
    (sandbox.config_dir / "planner.yaml").write_text(
        textwrap.dedent(
            f"""\
            defaults:
              notify: ["json://127.0.0.1:{port}/{path}?token=${{HOOK_TOKEN}}"]
              {notify_on}
            schedules:
              nightly:
                cron: "0 2 * * *"
            """
        )
    )
    with open(sandbox.config_dir / ".env", "a") as handle:
        handle.write(f"HOOK_TOKEN={HOOK_TOKEN}\n")


def run(cli, sandbox, day=DAY):
    return cli("--date", str(day), "run", "--schedule", "nightly", config_dir=sandbox.config_dir)


def fail(sandbox, *tools: str) -> None:
    for tool in tools:
        sandbox.apps[tool].inject("status", status=500, times=100_000)


def test_a_partial_run_notifies_once_with_statuses_and_error_ids(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook)
    fail(sandbox, "kong")
    result = run(cli, sandbox)
    assert result.exit_code == 5, result.output
    (message,) = posts(webhook)
    assert message["title"] == f"apiinv schedule nightly {DAY}: PARTIAL" and message["type"] == "warning"
    body = message["message"]
    assert "kong: failed (DATA_COLLECTION_ERROR " in body and "42crunch: ok" in body
    assert "endpoints " in body and "exit status 5" in body
    assert "127.0.0.1" not in body  # error texts (which name hosts) stay in the log
    assert HOOK_TOKEN not in result.output
    assert HOOK_TOKEN not in (cli.output / "logs" / "apiinv.log").read_text()


def test_a_run_where_everything_fails_notifies_a_failure(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook)
    sandbox.inject_everywhere("status", status=500, times=100_000)
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("  api_base_url:", "  max_retries: 0\n  api_base_url:")
    )
    assert run(cli, sandbox).exit_code == 4
    (message,) = posts(webhook)
    assert message["title"].endswith("FAILED") and message["type"] == "failure"


def test_changes_notify_only_when_notify_on_says_so(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook, notify_on="notify_on: [change]")
    sandbox.set_date(RUN_DATE - timedelta(days=1))
    assert run(cli, sandbox, RUN_DATE - timedelta(days=1)).exit_code == 0
    assert posts(webhook) == []  # the baseline run changes nothing
    sandbox.set_date(RUN_DATE)
    assert run(cli, sandbox).exit_code == 0
    report = json.loads((cli.output / DAY / f"api-inventory-{DAY}.json").read_text())
    assert any(report["summary"]["changes"][k] for k in ("new", "removed", "changed"))  # the estate drifted
    (message,) = posts(webhook)
    assert message["title"] == f"apiinv schedule nightly {DAY}: changed" and message["type"] == "info"


def test_no_notification_when_notify_on_excludes_the_event(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook, notify_on="notify_on: [failure]")
    fail(sandbox, "kong")
    assert run(cli, sandbox).exit_code == 5
    assert posts(webhook) == []


def test_a_notification_that_fails_is_logged_and_changes_no_exit_code(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook, path="broken")
    fail(sandbox, "kong")
    result = run(cli, sandbox)
    assert result.exit_code == 5, result.output  # partial because of kong, not of the notification
    assert "notified 0 of 1 target(s): notify: the json:// notification to json://127.0.0.1:" in result.output
    assert len(posts(webhook, "/broken")) >= 1


def test_notify_test_sends_a_test_message(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook)
    result = cli("notify", "test", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    (message,) = posts(webhook)
    assert message["title"] == "apiinv: test notification (defaults)"
    assert "failure, partial" in message["message"]
    planner(sandbox, webhook, path="broken")
    failed = cli("notify", "test", config_dir=sandbox.config_dir)
    assert failed.exit_code == 1
    # which target failed, with its token masked, and the code and id to find it in the log
    port = webhook.server_address[1]
    assert re.search(
        rf"notify: the json:// notification to json://127\.0\.0\.1:{port}/broken\S* could not be delivered "
        r"\[NOTIFY_DELIVERY_ERROR [0-9a-f]{12}\]",
        failed.output,
    ), failed.output
    assert HOOK_TOKEN not in failed.output


def test_the_docs_webhook_example_delivers_its_token_where_the_docs_say(cli, sandbox, webhook) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    example = re.search(r'"(json://hooks\.acme\.example/apiinv\?[^"]+)"', docs)[1]
    assert "+X-Apiinv-Token=" in example  # the docs' words: "the token as a header"
    port = webhook.server_address[1]
    webhook.route("/apiinv", lambda h: h.send_json({"ok": True}))
    (sandbox.config_dir / "planner.yaml").write_text(
        f'defaults:\n  notify: ["{example.replace("hooks.acme.example", f"127.0.0.1:{port}")}"]\n'
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\n'
    )
    with open(sandbox.config_dir / ".env", "a") as handle:
        handle.write(f"HOOK_TOKEN={HOOK_TOKEN}\n")
    result = cli("notify", "test", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    (received,) = [r for r in webhook.received if r["path"].startswith("/apiinv")]
    assert received["headers"].get("X-Apiinv-Token") == HOOK_TOKEN
    assert HOOK_TOKEN not in result.output


def test_a_notify_url_naming_a_missing_variable_is_a_clear_error(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook)
    (sandbox.config_dir / ".env").write_text(
        "\n".join(
            line for line in (sandbox.config_dir / ".env").read_text().splitlines() if "HOOK" not in line
        )
    )
    result = cli("notify", "test", config_dir=sandbox.config_dir)
    assert result.exit_code == 3
    assert "notify: environment variable HOOK_TOKEN is not set" in result.output


def test_a_run_with_failed_items_notifies_partial_with_their_count(cli, sandbox, webhook) -> None:
    planner(sandbox, webhook)
    assert run(cli, sandbox).exit_code == 0 and posts(webhook) == []  # ok: nobody is told
    raw = json.loads((cli.output / DAY / "raw" / "42crunch.json").read_text())["data"]
    aid = next(a for a in raw["apis"] if (a.get("spec") or {}).get("paths"))["desc"]["id"]
    sandbox.apps["42crunch"].inject("status", status=500, times=100, path=f"^/api/v1/apis/{aid}$")
    day = str(RUN_DATE + timedelta(days=1))
    result = cli("--date", day, "run", "--schedule", "nightly", "--full", config_dir=sandbox.config_dir)
    assert result.exit_code == 5, result.output
    (message,) = posts(webhook)
    assert message["title"].endswith(": PARTIAL")
    assert "42crunch: partial (1 item(s) failed) (ITEMS_FAILED " in message["message"]
