"""Delivery to a real SMTP server on 127.0.0.1 (aiosmtpd), with the workbook attached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from certs import server_context
from conftest import RUN_DATE, Inbox, _authenticator, build_reports, copy_reports, free_port, smtp_env

DAY = str(RUN_DATE)


@pytest.fixture(scope="module")
def reported_built(tmp_path_factory):
    return build_reports(tmp_path_factory.mktemp("reported"), [RUN_DATE - timedelta(days=1), RUN_DATE])


@pytest.fixture
def reported(reported_built, tmp_path):
    return copy_reports(reported_built, tmp_path)


def test_the_workbook_arrives_intact_with_a_summary(cli, reported, smtp) -> None:
    inbox, port = smtp
    smtp_env(reported, port, APIINV_SMTP_USER="reports", APIINV_SMTP_PASSWORD="smtp-secret-value")
    result = cli(
        "--date",
        DAY,
        "mail",
        "--to",
        "secops@acme.example",
        "--to",
        "ciso@acme.example",
        config_dir=reported.config_dir,
    )
    assert result.exit_code == 0, result.output
    (message,) = inbox.messages
    assert message["To"] == "secops@acme.example, ciso@acme.example"
    assert message["Subject"].startswith(f"API inventory {DAY}: ")
    plain = message.get_body(("plain",)).get_content()
    assert (
        "Changes since the last complete run (distinct endpoints):" in plain
        and "Findings: shadow apis" in plain
    )
    assert message["Date"] and message["Message-ID"].endswith("@acme.example>")
    html = message.get_body(("html",)).get_content()
    assert "API inventory for" in html and "<style" not in html and "<table" in html
    (attachment,) = list(message.iter_attachments())
    workbook = cli.output / DAY / f"api-inventory-{DAY}.xlsx"
    assert attachment.get_filename() == workbook.name
    assert attachment.get_content() == workbook.read_bytes()
    log = (cli.output / "logs" / "apiinv.log").read_bytes()
    assert b"smtp-secret-value" not in log


def test_only_on_change_sends_nothing_when_nothing_changed(cli, sandbox, smtp) -> None:
    inbox, port = smtp
    assert (
        cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    )  # a first run: baseline
    smtp_env(sandbox, port)
    result = cli(
        "--date",
        DAY,
        "mail",
        "--to",
        "secops@acme.example",
        "--only-on-change",
        config_dir=sandbox.config_dir,
    )
    assert result.exit_code == 0 and "not sent" in result.output and inbox.messages == []


def test_a_refused_connection_is_a_clear_error_and_the_report_stays(cli, reported) -> None:
    closed = free_port()
    smtp_env(reported, closed)
    result = cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=reported.config_dir)
    assert result.exit_code == 1
    assert f"cannot reach SMTP server 127.0.0.1:{closed}" in result.output
    assert (cli.output / DAY / f"api-inventory-{DAY}.xlsx").exists()


def test_a_refused_login_is_a_clear_error(cli, reported, smtp) -> None:
    _, port = smtp
    smtp_env(reported, port, APIINV_SMTP_USER="reports", APIINV_SMTP_PASSWORD="wrong-password-value")
    result = cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=reported.config_dir)
    assert result.exit_code == 1 and "refused the login of reports" in result.output
    assert "wrong-password-value" not in result.output


def test_run_mails_when_the_schedule_says_so(cli, sandbox, smtp) -> None:
    inbox, port = smtp
    smtp_env(sandbox, port)
    (sandbox.config_dir / "planner.yaml").write_text(
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\n    tools: ["all"]\n'
        '    mail_to: ["secops@acme.example"]\n'
    )
    result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 0, result.output
    assert "mailed api-inventory" in result.output and len(inbox.messages) == 1


def test_run_with_an_unreachable_mail_server_is_partial(cli, sandbox) -> None:
    smtp_env(sandbox, 1)
    result = cli(
        "--date", DAY, "run", "--all", "--mail-to", "secops@acme.example", config_dir=sandbox.config_dir
    )
    assert result.exit_code == 5
    assert "mail: FAILED" in result.output and "the report stays in" in result.output


@pytest.mark.sandbox_tools("kong")
def test_mail_without_a_report_says_so(cli, sandbox) -> None:
    result = cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=sandbox.config_dir)
    assert result.exit_code == 2 and "run export first" in result.output


def test_starttls_with_a_private_ca(cli, reported, tmp_path) -> None:
    context, cert = server_context(tmp_path)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        smtp_env(
            reported,
            port,
            APIINV_SMTP_SECURITY="starttls",
            APIINV_SMTP_CA_BUNDLE=cert,
            APIINV_SMTP_USER="reports",
            APIINV_SMTP_PASSWORD="smtp-secret-value",
        )
        result = cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=reported.config_dir)
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert len(inbox.messages) == 1


def test_the_digest_shows_each_findings_riskiest_rows_and_the_changes(cli, reported, smtp) -> None:
    import json

    from apiinv.analysis.findings import FINDINGS, TITLES

    inbox, port = smtp
    smtp_env(reported, port)
    assert (
        cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=reported.config_dir).exit_code
        == 0
    )
    (message,) = inbox.messages
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content()
    report = json.loads((cli.output / DAY / f"api-inventory-{DAY}.json").read_text())
    records = {r["endpoint_key"]: r for r in report["records"]}
    order = ("critical", "high", "medium", "low", "info", "unknown")
    for name in FINDINGS:
        count = len(report["findings"][name])
        assert f"{TITLES[name]}: {count:,}" in plain and f"{TITLES[name]}: {count:,}" in html
        listed = [
            line
            for line in plain.split(f"{TITLES[name]}: {count:,}", 1)[1].split("\n\n", 1)[0].splitlines()
            if line.startswith("  - [")
        ]
        split = report["act_first"]["by_risk"][name]
        assert len(listed) == min(10, split["critical"] + split["high"] + split["medium"])
        ranks = [
            order.index(records[line.split("] ", 1)[1].split("  (", 1)[0]]["risk_level"] or "unknown")
            for line in listed
        ]
        assert ranks == sorted(ranks)  # riskiest first
        if split["low"] + split["other"]:  # what nobody acts on one by one is grouped by API
            assert f"{split['low'] + split['other']:,} endpoints in " in plain
    new = {c["endpoint_key"] for c in report["changes"] if c["change"] == "new"}
    assert f"New endpoints: {len(new):,}" in plain


def test_run_only_on_change_mails_nothing_for_a_baseline(cli, sandbox, smtp) -> None:
    inbox, port = smtp
    smtp_env(sandbox, port)
    result = cli(
        "--date",
        DAY,
        "run",
        "--all",
        "--mail-to",
        "secops@acme.example",
        "--only-on-change",
        config_dir=sandbox.config_dir,
    )
    assert result.exit_code == 0 and "not sent (only_on_change)" in result.output
    assert inbox.messages == []


def test_a_schedules_only_on_change_and_encrypted_attachment(cli, sandbox, smtp) -> None:
    import io

    import msoffcrypto
    from openpyxl import load_workbook

    inbox, port = smtp
    smtp_env(sandbox, port, APIINV_ATTACHMENT_PASSWORD="correct horse battery")
    (sandbox.config_dir / "planner.yaml").write_text(
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\n    mail_to: [secops@acme.example]\n'
        "    only_on_change: true\n    mail_encrypt: true\n"
    )
    for day in (RUN_DATE - timedelta(days=1), RUN_DATE):
        sandbox.set_date(day)
        result = cli("--date", str(day), "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
        assert result.exit_code == 0, result.output
    (message,) = inbox.messages  # the baseline day sent nothing; the day with changes did
    assert "correct horse battery" not in message.as_string()
    (attachment,) = list(message.iter_attachments())
    sealed = attachment.get_content()
    with pytest.raises(Exception):
        load_workbook(io.BytesIO(sealed))  # not readable without the password
    office = msoffcrypto.OfficeFile(io.BytesIO(sealed))
    office.load_key(password="correct horse battery")
    opened = io.BytesIO()
    office.decrypt(opened)
    book = load_workbook(opened, read_only=True)
    assert book.sheetnames[0] == "Summary" and "Inventory" in book.sheetnames


def test_a_run_that_fails_entirely_mails_its_failure(cli, sandbox, smtp) -> None:
    inbox, port = smtp
    smtp_env(sandbox, port)
    sandbox.inject_everywhere("status", status=500, times=100_000)
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("  api_base_url:", "  max_retries: 0\n  api_base_url:")
    )
    (sandbox.config_dir / "planner.yaml").write_text(
        'schedules:\n  nightly:\n    cron: "0 2 * * *"\n    mail_to: [secops@acme.example]\n'
    )
    result = cli("--date", DAY, "run", "--schedule", "nightly", config_dir=sandbox.config_dir)
    assert result.exit_code == 4, result.output
    (message,) = inbox.messages
    assert message["Subject"] == f"API inventory {DAY}: FAILED (schedule nightly)"
    body = message.get_content()
    assert "kong: failed (DATA_COLLECTION_ERROR" in body and list(message.iter_attachments()) == []


def test_without_apiinv_mail_from_the_sender_is_this_hosts_fqdn(cli, reported, smtp) -> None:
    import socket

    inbox, port = smtp
    with open(reported.config_dir / ".env", "a") as handle:
        handle.write(f"APIINV_SMTP_HOST=127.0.0.1\nAPIINV_SMTP_PORT={port}\nAPIINV_SMTP_SECURITY=none\n")
    result = cli("--date", DAY, "mail", "--to", "secops@acme.example", config_dir=reported.config_dir)
    assert result.exit_code == 0, result.output
    (message,) = inbox.messages
    assert message["From"] == f"apiinv@{socket.getfqdn()}" != "apiinv@127.0.0.1"


def test_the_mail_opens_with_act_first_and_its_subject_counts_critical(cli, reported, smtp) -> None:
    import json

    inbox, port = smtp
    smtp_env(reported, port)
    assert cli("--date", DAY, "mail", "--to", "a@acme.example", config_dir=reported.config_dir).exit_code == 0
    (message,) = inbox.messages
    report = json.loads((cli.output / DAY / f"api-inventory-{DAY}.json").read_text())
    first = report["act_first"]["endpoints"][0]
    critical = {
        f["endpoint_key"]
        for rows in report["findings"].values()
        for f in rows
        if next(r for r in report["records"] if r["endpoint_key"] == f["endpoint_key"])["risk_level"]
        == "critical"
    }
    new = report["summary"]["changes"]["new"]
    assert message["Subject"] == (
        f"API inventory {DAY}: {len(critical)} critical, {new} new; act first: {first['sheet'].lower()}"
    )
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.index("Act first") < plain.index("Endpoints:") < plain.index("New endpoints:")
    assert f"1. [{first['risk_level']}] {first['endpoint_key']}" in plain


def test_an_encrypted_attachment_leaves_the_body_with_counts_only(cli, reported, smtp) -> None:
    import json

    inbox, port = smtp
    smtp_env(reported, port, APIINV_ATTACHMENT_PASSWORD="correct horse battery")
    args = ("--date", DAY, "mail", "--to", "a@acme.example", "--encrypt")
    assert cli(*args, config_dir=reported.config_dir).exit_code == 0
    report = json.loads((cli.output / DAY / f"api-inventory-{DAY}.json").read_text())
    keys = {r["endpoint_key"] for r in report["records"]}
    (sealed,) = inbox.messages
    body = sealed.get_body(("plain",)).get_content() + sealed.get_body(("html",)).get_content()
    assert "endpoints to act on first" in body and not [k for k in keys if k in body]
    (reported.config_dir / "planner.yaml").write_text(
        'defaults:\n  mail_body: full\nschedules:\n  n:\n    cron: "0 2 * * *"\n    tools: [all]\n'
    )
    assert cli(*args, config_dir=reported.config_dir).exit_code == 0
    full = inbox.messages[1].get_body(("plain",)).get_content()
    assert report["act_first"]["endpoints"][0]["endpoint_key"] in full


@pytest.mark.sandbox_tools("kong", "apigee")
def test_a_tool_that_failed_after_an_earlier_run_of_the_date_says_whose_data_stands_in(
    cli, sandbox, smtp
) -> None:
    inbox, port = smtp
    smtp_env(sandbox, port)
    assert cli("--date", DAY, "run", "--all", config_dir=sandbox.config_dir).exit_code == 0
    sandbox.simulators["kong"].inject("status", status=500, times=100_000)
    tools_yaml = sandbox.config_dir / "tools.yaml"
    tools_yaml.write_text(
        tools_yaml.read_text().replace("  api_base_url:", "  max_retries: 0\n  api_base_url:")
    )
    cli("--date", DAY, "run", "--all", "--mail-to", "secops@acme.example", config_dir=sandbox.config_dir)
    (message,) = inbox.messages
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Every tool's data is from this date." not in plain
    assert f"kong failed this run: its data of {DAY} from an earlier run of this date stands in." in plain
    assert "Every other tool's data is from this run." in plain
    assert (
        f"Tools that failed this run: kong (its data of {DAY} from an earlier run of this date stands in)"
        in plain
    )
