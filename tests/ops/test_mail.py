"""Delivery to a real SMTP server on 127.0.0.1 (aiosmtpd), with the workbook attached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
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


def _self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made here: the test's own private CA."""
    from datetime import UTC, datetime, timedelta
    from ipaddress import IPv4Address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def test_starttls_with_a_private_ca(cli, reported, tmp_path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
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
        assert len(listed) == min(10, count)
        ranks = [
            order.index(records[line.split("] ", 1)[1].split("  (", 1)[0]]["risk_level"] or "unknown")
            for line in listed
        ]
        assert ranks == sorted(ranks)  # riskiest first
        if count > 10:
            assert f"and {count - 10:,} more in the workbook" in plain
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
