"""Credentials never leave their origin, the cache never holds a secret, hostile answers are bounded.

Each test runs the real client (or the real CLI) against the hostile vendor of hostile_api.py on
127.0.0.1, with a second server on 127.0.0.2 playing "another host" that records what reaches it.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import fill_disk
from generic_api import API_KEY, CLIENT_ID, CLIENT_SECRET, PASSWORD, STATIC_TOKEN, USER
from hostile_api import ALIAS_BOMB, HostileServer, nested

from apiinv.config import ToolConfig
from apiinv.errors import (
    AuthenticationError,
    ForeignOriginError,
    MalformedResponseError,
    ResponseTooLargeError,
    ToolDeadlineError,
)
from apiinv.http.client import HttpClient

KONG_TOKEN = "kong-admin-token-value-321"
# auth kind -> (tool settings, the secret bytes that must never reach another origin or the cache)
KINDS = {
    "api_key": ({"credentials": {"api_key": API_KEY}}, [API_KEY]),
    "kong_token": (
        {
            "auth_type": "api_key",
            "api_key_header": "Kong-Admin-Token",
            "credentials": {"api_key": KONG_TOKEN},
        },
        [KONG_TOKEN],
    ),
    "bearer": ({"credentials": {"token": STATIC_TOKEN}}, [STATIC_TOKEN]),
    "basic": (
        {"credentials": {"username": USER, "password": PASSWORD}},
        [PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()],
    ),
}


def tool_for(url: str, kind: str = "none", **overrides) -> ToolConfig:
    values: dict = dict(
        name="hostile",
        type="kong",
        base_url=url,
        auth_type=kind,
        max_retries=1,
        max_retry_wait=5,
        timeout=5,
        retry_backoff=0.01,
    )
    if kind in KINDS:
        settings, _ = KINDS[kind]
        values.update({"auth_type": kind, **settings})
    values.update(overrides)
    return ToolConfig(**values)


def ok(handler) -> None:
    handler.send_json({"data": [{"id": 1}], "next": None})


@pytest.fixture
def vendor():
    with HostileServer("127.0.0.1") as server:
        yield server


@pytest.fixture
def elsewhere():
    with HostileServer("127.0.0.2") as server:
        server.route("/steal", ok)
        server.route("/token", lambda h: h.send_json({"access_token": "forged", "expires_in": 3600}))
        yield server


# ---------------------------------------------------------------------------------------------- origins


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_origin_is_refused_and_gets_nothing(
    kind: str, status: int, vendor, elsewhere
) -> None:
    vendor.route("/services", lambda h: h.redirect(f"{elsewhere.url}/steal", status))
    with HttpClient(tool_for(vendor.url, kind)) as client, pytest.raises(ForeignOriginError) as caught:
        client.get_json("/services")
    assert "another origin http://127.0.0.2:" in caught.value.message
    assert "allowed_hosts" in caught.value.message
    assert elsewhere.received == []  # not even a bare request left for the foreign host


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_listed_origin_is_followed_with_credentials(kind: str, vendor, elsewhere) -> None:
    vendor.route("/services", lambda h: h.redirect(f"{elsewhere.url}/steal"))
    tool = tool_for(vendor.url, kind, allowed_hosts=[elsewhere.url])
    with HttpClient(tool) as client:
        assert client.get_json("/services")["data"] == [{"id": 1}]
    _, secrets = KINDS[kind]
    assert any(secret.encode() in elsewhere.bytes_seen() for secret in secrets)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_next_link_to_another_origin_is_refused(kind: str, vendor, elsewhere) -> None:
    vendor.route(
        "/services", lambda h: h.send_json({"data": [{"id": 1}], "next": f"{elsewhere.url}/steal?page=2"})
    )
    with HttpClient(tool_for(vendor.url, kind)) as client, pytest.raises(ForeignOriginError):
        client.paginate_all("/services", strategy="next_link", items_key="data")
    assert elsewhere.received == []


@pytest.fixture
def next_door():
    """Another server on the vendor's own address, at another port."""
    with HostileServer("127.0.0.1") as server:
        server.route("/steal", ok)
        yield server


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_redirect_to_the_same_host_on_another_port_is_refused_and_gets_nothing(
    kind: str, vendor, next_door
) -> None:
    vendor.route("/services", lambda h: h.redirect(f"{next_door.url}/steal"))
    with HttpClient(tool_for(vendor.url, kind)) as client, pytest.raises(ForeignOriginError) as caught:
        client.get_json("/services")
    assert f"another origin {next_door.url} " in caught.value.message
    assert next_door.received == []


@pytest.fixture
def tls_vendor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The hostile vendor on https, and the certificate file that trusts it."""
    from certs import server_context

    # requests lets these override a session's own verify (psf/requests#3829); a bundle that does not
    # trust the vendor is set on purpose: the tool's own ca_bundle must win.
    (tmp_path / "other").mkdir()
    _, other = server_context(tmp_path / "other")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    context, cert = server_context(tmp_path)
    with HostileServer("127.0.0.1", tls=context) as server:
        yield server, cert


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_redirect_from_https_to_http_on_the_same_host_and_port_is_refused(kind: str, tls_vendor) -> None:
    vendor, cert = tls_vendor
    plain = vendor.url.replace("https://", "http://", 1)
    vendor.route("/services", lambda h: h.redirect(f"{plain}/steal"))
    vendor.route("/moved", lambda h: h.redirect(f"{vendor.url}/steal"))
    vendor.route("/steal", ok)
    with HttpClient(tool_for(vendor.url, kind, verify=cert)) as client:
        assert client.get_json("/moved")["data"] == [{"id": 1}]  # on https, the same redirect is followed
        with pytest.raises(ForeignOriginError) as caught:
            client.get_json("/services")
    assert f"another origin {plain} " in caught.value.message
    assert [r["path"] for r in vendor.received] == ["/moved", "/steal", "/services"]


def differential(vendor: HostileServer, foreign: HostileServer) -> str:
    """A URL urllib.parse reads as the vendor's and urllib3 sends to ``foreign``."""
    return f"{foreign.url}\\@{vendor.url.removeprefix('http://')}/steal"


@pytest.mark.parametrize("link", ["next link", "redirect"])
def test_an_address_parsers_read_apart_reaches_no_one(link: str, vendor, next_door) -> None:
    target = differential(vendor, next_door)
    if link == "redirect":
        vendor.route("/services", lambda h: h.redirect(target))
    else:
        vendor.route("/services", lambda h: h.send_json({"data": [1], "next": target}))
    with (
        HttpClient(tool_for(vendor.url, "kong_token")) as client,
        pytest.raises(ForeignOriginError) as caught,
    ):
        client.paginate_all("/services", strategy="next_link", items_key="data")
    assert caught.value.code == "FOREIGN_ORIGIN"
    assert "its address is ambiguous (it holds a backslash" in caught.value.message
    assert next_door.received == []
    assert [r["path"] for r in vendor.received] == ["/services?size=100"]


def kong_at(cli, vendor: HostileServer, folder: Path, extra: str = ""):
    """``collect kong`` against the hostile vendor playing Kong (routes and plugins empty)."""
    vendor.route("/routes", lambda h: h.send_json({"data": [], "next": None}))
    vendor.route("/plugins", lambda h: h.send_json({"data": [], "next": None}))
    folder.mkdir()
    (folder / "tools.yaml").write_text(
        f"kong:\n  api_base_url: {vendor.url}\n  auth_type: api_key\n  retry_backoff: 0.01\n{extra}"
    )
    (folder / ".env").write_text(f"APIINV_KONG_API_KEY={KONG_TOKEN}\n")
    return within(10, lambda: cli("--date", DATE, "collect", "kong", config_dir=folder))


def test_a_collection_handed_a_differential_next_link_fails_and_the_other_server_gets_nothing(
    cli, vendor, next_door, tmp_path: Path
) -> None:
    vendor.route("/services", lambda h: h.send_json({"data": [1], "next": differential(vendor, next_door)}))
    result = kong_at(cli, vendor, tmp_path / "cfg")
    assert result.exit_code == 4, result.output
    assert "kong: FAILED: refused a link: its address is ambiguous" in result.output
    assert "FOREIGN_ORIGIN" in result.output
    assert next_door.received == []


def test_a_token_endpoint_redirect_is_never_followed(vendor, elsewhere) -> None:
    vendor.route("/token", lambda h: h.redirect(f"{elsewhere.url}/token", 307))
    vendor.route("/services", ok)
    tool = tool_for(
        vendor.url,
        "oauth",
        token_url=f"{vendor.url}/token",
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    with HttpClient(tool) as client, pytest.raises(AuthenticationError) as caught:
        client.get_json("/services")
    assert "never follow redirects" in caught.value.message
    assert "127.0.0.2" in caught.value.message
    assert elsewhere.received == []  # the client secret was not re-posted, no forged token was taken
    assert all("Authorization" not in r["headers"] for r in vendor.received if r["path"] == "/services")


def cache_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_after_a_same_host_redirect_the_cache_holds_no_secret(kind: str, vendor, tmp_path: Path) -> None:
    vendor.route("/services", lambda h: h.redirect("/v2/services", 301))
    vendor.route("/v2/services", ok)
    cache = tmp_path / "cache"
    with HttpClient(tool_for(vendor.url, kind), cache_dir=cache, cache_namespace="d") as client:
        assert client.get_json("/services")["data"] == [{"id": 1}]
        assert client.get_json("/services")["data"] == [{"id": 1}]
        assert client.stats.cache_hits == 1
    stored = cache_bytes(cache)
    assert b"v2/services" in stored  # the answer was stored, and read back above
    _, secrets = KINDS[kind]
    for secret in secrets:
        assert secret.encode() not in stored


def test_url_userinfo_is_refused_and_never_printed(cli, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "tools.yaml").write_text(
        'kong:\n  api_base_url: "https://admin:hunter2-pw@kong.example:8444"\n'
    )
    (folder / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    result = cli("validate-config", config_dir=folder)
    assert result.exit_code == 3
    assert "kong.api_base_url: credentials in the URL are not allowed" in result.output
    assert "hunter2-pw" not in result.output


# ---------------------------------------------------------------------------------------------- cache keys


def test_a_revoked_key_is_not_answered_from_the_cache(vendor, tmp_path: Path) -> None:
    accepted = {API_KEY}

    def guarded(handler) -> None:
        if handler.headers.get("X-API-KEY") in accepted:
            ok(handler)
        else:
            handler.send_json({"error": "unauthorized"}, 401)

    vendor.route("/services", guarded)
    tool = tool_for(vendor.url, "api_key")
    with HttpClient(tool, cache_dir=tmp_path, cache_namespace="d") as client:
        client.get_json("/services")
    accepted.clear()  # revoked at the vendor, still configured here
    with (
        HttpClient(tool, cache_dir=tmp_path, cache_namespace="d") as client,
        pytest.raises(AuthenticationError),
    ):
        client.get_json("/services")


def test_other_credentials_never_see_cached_answers(vendor, tmp_path: Path) -> None:
    vendor.route("/services", ok)
    first = tool_for(vendor.url, "api_key")
    second = tool_for(vendor.url, "api_key", credentials={"api_key": "api_" + "1" * 36})
    for tool in (first, second):
        with HttpClient(tool, cache_dir=tmp_path, cache_namespace="d") as client:
            client.get_json("/services")
            client.get_json("/services")
            assert (client.stats.requests, client.stats.cache_hits) == (1, 1)
    assert len(vendor.received) == 2  # one per key: the second key was not served the first one's answer


def spoil_key(key: Path, how: str, tmp_path: Path) -> None:
    if how == "empty":
        key.write_bytes(b"")
    elif how == "short":
        key.write_bytes(b"0123456789")
    elif how == "readable by others":
        key.chmod(0o644)
    else:  # a symbolic link to a file that would pass for a key
        elsewhere = tmp_path / "planted.key"
        elsewhere.write_bytes(b"k" * 32)
        elsewhere.chmod(0o600)
        key.unlink()
        key.symlink_to(elsewhere)


@pytest.mark.parametrize("how", ["empty", "short", "readable by others", "symbolic link"])
def test_an_untrusted_fingerprint_key_is_made_anew_and_the_cache_dropped(
    how: str, vendor, tmp_path: Path, caplog
) -> None:
    vendor.route("/old", ok)
    vendor.route("/services", ok)
    cache = tmp_path / "cache"
    tool = tool_for(vendor.url, "api_key")
    with HttpClient(tool, cache_dir=cache, cache_namespace="d") as client:
        client.get_json("/old")
    key = cache / ".fingerprint.key"
    spoil_key(key, how, tmp_path)
    with (
        caplog.at_level("WARNING", "apiinv"),
        HttpClient(tool, cache_dir=cache, cache_namespace="d") as client,
    ):
        client.get_json("/services")
    assert f"{key} " in caplog.text and "made anew, and the cache dropped (1 database(s))" in caplog.text
    info = key.lstat()
    assert stat.S_ISREG(info.st_mode) and info.st_mode & 0o777 == 0o600 and info.st_size == 32
    stored = sqlite3.connect(cache / "hostile.sqlite").execute("select count(*) from responses").fetchone()
    assert stored == (1,)  # the answer of /services only: /old's went with the untrusted key
    if how == "symbolic link":
        assert (tmp_path / "planted.key").read_bytes() == b"k" * 32


def test_a_page_token_named_token_keeps_its_pages_apart_in_the_cache(vendor, tmp_path: Path) -> None:
    pages = {"": (["a", "b"], "t2"), "t2": (["c", "d"], "t3"), "t3": (["e"], "")}

    def paged(handler) -> None:
        from urllib.parse import parse_qs, urlsplit

        token = parse_qs(urlsplit(handler.path).query).get("token", [""])[0]
        items, following = pages[token]
        handler.send_json({"items": items, "nextPageToken": following})

    vendor.route("/things", paged)
    tool = tool_for(vendor.url)
    for _ in range(2):  # the second run is answered from the cache, page by page
        with HttpClient(tool, cache_dir=tmp_path, cache_namespace="d") as client:
            items = client.paginate_all("/things", strategy="token", items_key="items", token_param="token")
        assert items == ["a", "b", "c", "d", "e"]
    assert len(vendor.received) == 3


def test_a_corrupt_cache_database_is_moved_aside_and_rebuilt(vendor, tmp_path: Path, caplog) -> None:
    vendor.route("/services", ok)
    (tmp_path / "hostile.sqlite").write_bytes(b"this is not a database" * 100)
    with (
        caplog.at_level("WARNING", "apiinv"),
        HttpClient(tool_for(vendor.url), cache_dir=tmp_path, cache_namespace="d") as client,
    ):
        assert client.get_json("/services")["data"] == [{"id": 1}]
    assert "moved to hostile.sqlite.corrupt-" in caplog.text
    assert list(tmp_path.glob("hostile.sqlite.corrupt-*"))
    assert sqlite3.connect(tmp_path / "hostile.sqlite").execute("select count(*) from responses").fetchone()


SHARED_CACHE_WORKER = """
import sys
sys.path.insert(0, sys.argv[3])
from test_security import tool_for
from apiinv.http.client import HttpClient
from datetime import date
from pathlib import Path
with HttpClient(tool_for(sys.argv[1]), cache_dir=Path(sys.argv[2]), cache_namespace="d") as client:
    for i in range(150):
        client.get_json(f"/services?n={i % 40}")
print("done")
"""


def test_two_processes_share_a_cache_database_without_failing(vendor, tmp_path: Path) -> None:
    vendor.route("/services", ok)
    tests_dir = str(Path(__file__).parent)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", SHARED_CACHE_WORKER, vendor.url, str(tmp_path), tests_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == "done"


# ---------------------------------------------------------------------------------------------- bounds


def test_a_dripping_answer_is_cut_at_the_request_deadline(vendor) -> None:
    vendor.route("/services", lambda h: h.drip(json.dumps({"data": list(range(400))}).encode(), every=0.02))
    tool = tool_for(vendor.url, timeout=5, request_deadline=0.5)
    with HttpClient(tool) as client, pytest.raises(ResponseTooLargeError) as caught:
        client.get_json("/services")
    assert "request_deadline 0.5s" in caught.value.message
    assert len(vendor.received) == 1  # refused once, not retried


def within(seconds: float, action):
    """What ``action`` returns (or raises), failing the test instead of hanging if it takes longer."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_a_status_line_and_headers_dripped_a_byte_at_a_time_are_cut_at_the_request_deadline(vendor) -> None:
    vendor.route("/services", lambda h: h.drip_head(every=0.2))
    tool = tool_for(vendor.url, timeout=5, request_deadline=1)
    started = time.monotonic()
    with HttpClient(tool) as client, pytest.raises(ResponseTooLargeError) as caught:
        within(5, lambda: client.get_json("/services"))
    assert time.monotonic() - started < 2.5
    assert "within request_deadline 1s" in caught.value.message
    assert len(vendor.received) == 1  # refused once, not retried


def slow_pages(handler) -> None:
    """Valid pages that never end, each a little slow: only the tool's deadline stops the listing."""
    time.sleep(0.3)
    page = int(parse_qs(urlsplit(handler.path).query).get("page", ["1"])[0])
    handler.send_json({"data": [{"id": page}], "next": f"/services?page={page + 1}"})


def test_a_collection_that_runs_past_tool_deadline_fails_naming_it(vendor) -> None:
    vendor.route("/services", slow_pages)
    tool = tool_for(vendor.url, tool_deadline=1)
    started = time.monotonic()
    with HttpClient(tool) as client, pytest.raises(ToolDeadlineError) as caught:
        within(5, lambda: client.paginate_all("/services", strategy="next_link", items_key="data"))
    assert time.monotonic() - started < 2
    assert caught.value.code == "TOOL_DEADLINE"
    assert "tool_deadline 1s" in caught.value.message
    assert 2 <= len(vendor.received) <= 4


def test_no_retry_waits_past_tool_deadline(vendor) -> None:
    def busy(handler) -> None:
        handler.send_response(503)
        handler.send_header("Retry-After", "30")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    vendor.route("/services", busy)
    tool = tool_for(vendor.url, tool_deadline=1, max_retries=5, max_retry_wait=60, retry_after_cap=60)
    started = time.monotonic()
    with HttpClient(tool) as client, pytest.raises(ToolDeadlineError) as caught:
        within(5, lambda: client.get_json("/services"))
    assert time.monotonic() - started < 2
    assert "tool_deadline 1s" in caught.value.message
    assert len(vendor.received) == 1


def test_a_request_in_flight_when_tool_deadline_passes_is_cut(vendor) -> None:
    vendor.route("/services", lambda h: h.drip_head(every=0.2))
    tool = tool_for(vendor.url, tool_deadline=1)  # request_deadline stays at 120 s
    started = time.monotonic()
    with HttpClient(tool) as client, pytest.raises(ToolDeadlineError):
        within(5, lambda: client.get_json("/services"))
    assert time.monotonic() - started < 2


def test_a_tool_past_tool_deadline_fails_with_one_line_naming_it(cli, vendor, tmp_path: Path) -> None:
    vendor.route("/services", slow_pages)
    result = kong_at(cli, vendor, tmp_path / "cfg", "  tool_deadline: 1\n")
    assert result.exit_code == 4, result.output
    assert "kong: FAILED: collection passed tool_deadline 1s" in result.output
    assert "TOOL_DEADLINE" in result.output


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_max_response_mb_is_refused(declared: bool, vendor) -> None:
    chunk = b" " * 65536
    if declared:
        vendor.route("/services", lambda h: h.send_bytes(b"[" + chunk * 40 + b"]"))
    else:
        vendor.route("/services", lambda h: h.stream_chunked(chunk, 40))
    with (
        HttpClient(tool_for(vendor.url, max_response_mb=1)) as client,
        pytest.raises(ResponseTooLargeError) as e,
    ):
        client.get_json("/services")
    assert "max_response_mb 1" in e.value.message


def test_a_document_nested_deeper_than_can_be_stored_is_malformed(vendor) -> None:
    vendor.route("/services", lambda h: h.send_json(nested(300)))
    vendor.route("/fine", lambda h: h.send_json(nested(200)))
    with HttpClient(tool_for(vendor.url)) as client:
        with pytest.raises(MalformedResponseError, match="cannot be stored"):
            client.get_json("/services")
        assert client.get_json("/fine")["x"]["x"]


def test_a_hostile_42crunch_spec_costs_only_that_document() -> None:
    from apiinv.sources.crunch42 import decode_base64_document

    for hostile in (ALIAS_BOMB.encode(), json.dumps(nested(300)).encode()):
        with pytest.raises(MalformedResponseError) as caught:
            decode_base64_document(base64.b64encode(hostile).decode(), what="spec of API 7", tool="42crunch")
        assert caught.value.message.startswith("spec of API 7")
    spec = decode_base64_document(
        base64.b64encode(b"openapi: 3.0.0\npaths: {}\n").decode(), what="s", tool="t"
    )
    assert spec == {"openapi": "3.0.0", "paths": {}}


def test_an_alias_bomb_in_tools_yaml_is_one_short_error(cli, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "tools.yaml").write_text(ALIAS_BOMB + "kong:\n  api_base_url: http://127.0.0.1:8001\n")
    (folder / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    result = cli("validate-config", config_dir=folder)
    assert result.exit_code == 3
    assert "tools.yaml: refused: the document expands to more than" in result.output
    assert len(result.output) < 2000


# ---------------------------------------------------------------------------------------------- the CLI

DATE = "2026-11-23"


def collect(cli, sandbox, *args: str):
    return cli("--date", DATE, "collect", *args, config_dir=sandbox.config_dir)


@pytest.mark.sandbox_tools("42crunch")
def test_a_secret_with_a_trailing_newline_is_a_configuration_error_naming_the_variable(cli, sandbox) -> None:
    env = sandbox.config_dir / ".env"
    lines = env.read_text().splitlines()
    lines = [
        f'{line}\\n"'.replace("=", '="', 1) if line.startswith("APIINV_42CRUNCH_API_KEY") else line
        for line in lines
    ]
    env.write_text("\n".join(lines) + "\n")
    result = cli("validate-config", config_dir=sandbox.config_dir)
    assert result.exit_code == 3
    assert "42crunch.credentials.api_key: APIINV_42CRUNCH_API_KEY has leading or trailing whitespace" in (
        result.output
    )
    assert sandbox.api_key not in result.output


@pytest.mark.parametrize(
    "name, message",
    [
        ('"kong\\n"', "invalid name 'kong\\n'"),
        ("inventory", "inventory: reserved name"),
        ("api-inventory", "api-inventory: reserved name"),
    ],
)
def test_tool_names_that_break_files_or_crontabs_are_refused(cli, tmp_path: Path, name, message) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "tools.yaml").write_text(f"{name}:\n  type: kong\n  api_base_url: http://127.0.0.1:8001\n")
    (folder / "planner.yaml").write_text('schedules:\n  nightly:\n    cron: "0 2 * * *"\n')
    result = cli("validate-config", config_dir=folder)
    assert result.exit_code == 3
    assert message in result.output


@pytest.mark.parametrize("value", ["20261201", "2026-W48-2", "2026-12-1"])
def test_dates_are_strictly_yyyy_mm_dd(cli, value: str) -> None:
    result = cli("--date", value, "status")
    assert result.exit_code == 2
    assert "is not a date (YYYY-MM-DD)" in result.output


@pytest.mark.sandbox_tools("kong")
def test_kong_plugin_secrets_never_reach_the_raw_file(cli, sandbox) -> None:
    from apiinv.sandbox.kong import REDIS_PASSWORD

    assert collect(cli, sandbox, "kong").exit_code == 0
    raw = (cli.output / DATE / "raw" / "kong.json").read_text()
    assert REDIS_PASSWORD not in raw
    plugin = next(
        p for p in json.loads(raw)["data"]["workspaces"]["default"]["plugins"] if p["name"] == "rate-limiting"
    )
    assert plugin["config"] == {
        "minute": 600,
        "policy": "redis",
        "redis": {"host": "redis.internal", "port": 6379, "password": "***"},
    }


def test_an_unexpected_exception_fails_one_tool_and_the_run_goes_on(cli, sandbox, monkeypatch) -> None:
    import dataclasses

    import apiinv.sources.kong

    def broken(raw):
        raise RuntimeError("a bug in a normalizer")
        yield  # pragma: no cover

    kong = apiinv.sources.kong
    monkeypatch.setattr(kong, "SOURCE", dataclasses.replace(kong.SOURCE, normalize=broken))
    result = cli("--date", DATE, "run", "--all", config_dir=sandbox.config_dir)
    assert result.exit_code == 5, result.output
    assert "kong: FAILED: process failed unexpectedly: RuntimeError: a bug in a normalizer [TOOL_FAILED" in (
        result.output
    )
    assert (cli.output / DATE / f"api-inventory-{DATE}.xlsx").exists()
    log = (cli.output / "logs" / "apiinv.log").read_text()
    assert "Traceback" in log and "a bug in a normalizer" in log


# ---------------------------------------------------------------------------------------------- files


def test_symlinked_lock_cache_log_and_date_folder_are_refused(cli, sandbox, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim.chmod(0o644)
    output = cli.output
    (output / ".locks").mkdir(parents=True)
    (output / ".locks" / "nightly.lock").symlink_to(victim)
    (output / ".cache").mkdir()
    (output / ".cache" / "kong.sqlite").symlink_to(victim)
    (output / "logs").mkdir()
    (output / "logs" / "apiinv.log").symlink_to(victim)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (output / DATE).symlink_to(elsewhere)

    result = collect(cli, sandbox, "kong")
    assert result.exit_code == 1, result.output  # the date itself is unusable, for every tool
    assert f"{output / DATE}: is a symbolic link; a date folder must be a real folder" in result.output
    with_real_date = cli("--date", "2026-11-24", "collect", "kong", config_dir=sandbox.config_dir)
    assert with_real_date.exit_code == 4
    assert "kong.sqlite: is a symbolic link; refusing to open it" in with_real_date.output
    assert "apiinv.log" in with_real_date.output  # the log, refused, said so once on stderr
    from apiinv.ops.locks import hold

    with pytest.raises(Exception, match="is a symbolic link"), hold(output / ".locks", "nightly"):
        pass
    assert victim.read_text() == "precious" and oct(victim.stat().st_mode & 0o777) == "0o644"
    assert list(elsewhere.iterdir()) == []


def test_orphaned_temporary_files_are_swept(cli, sandbox) -> None:
    import os
    import time

    raw = cli.output / DATE / "raw"
    raw.mkdir(parents=True)
    old, fresh = raw / ".kong.json.abcd1234.tmp", raw / ".kong.json.efgh5678.tmp"
    for path in (old, fresh):
        path.write_text("half a file")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert collect(cli, sandbox, "kong").exit_code == 0
    assert not old.exists() and fresh.exists()  # a write in progress elsewhere is left alone
    os.utime(fresh, (time.time() - 7200, time.time() - 7200))
    result = cli("--date", DATE, "cleanup", "--max-age", "3650", config_dir=sandbox.config_dir)
    assert result.exit_code == 0
    assert not fresh.exists()


def test_a_full_disk_fails_the_tools_it_hits_with_one_line_each(cli, sandbox, tiny_disk: Path) -> None:
    first = cli("--date", DATE, "collect", "kong", config_dir=sandbox.config_dir, output=tiny_disk)
    assert first.exit_code == 0
    kong_raw = (tiny_disk / DATE / "raw" / "kong.json").read_bytes()
    fill_disk(tiny_disk)
    result = cli("--date", DATE, "collect", "--all", config_dir=sandbox.config_dir, output=tiny_disk)
    assert result.exit_code == 4, result.output
    assert "Logging error" not in result.output and "Traceback" not in result.output
    failures = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(failures) == len(sandbox.tools), result.output
    assert any(f"{tiny_disk / DATE / 'raw'}" in line and "disk full" in line for line in failures), failures
    assert (tiny_disk / DATE / "raw" / "kong.json").read_bytes() == kong_raw  # the earlier file is intact


def test_error_texts_and_reprs_are_masked_wherever_they_are_printed() -> None:
    from apiinv.errors import CollectionError
    from apiinv.redact import register_secret

    secret = "late-registered-secret-9f2c"
    error = CollectionError(f"vendor echoed {secret} back", tool="t", detail=f"x={secret}")
    register_secret(secret)  # a token learnt after the message was built is masked all the same
    for text in (str(error), repr(error), error.message, json.dumps(error.as_record())):
        assert secret not in text and "***" in text


@pytest.mark.parametrize(
    "kind, path, answer",
    [
        ("kong", "/services", [1, 2, 3]),
        ("kong", "/services", {"next": None}),
        ("kong", "/services", {"data": {"id": 1}}),
        ("42crunch", "/api/v2/collections", {}),
        ("42crunch", "/api/v2/collections", "list"),
    ],
)
def test_a_listing_of_the_wrong_shape_is_a_malformed_answer_not_an_empty_inventory(
    kind: str, path: str, answer, vendor, tmp_path: Path
) -> None:
    from apiinv.pipeline.collect import collect_tool
    from apiinv.store import Store

    for listing in ("/services", "/routes", "/plugins"):
        vendor.route(listing, lambda h: h.send_json({"data": [], "next": None}))
    vendor.route(path, lambda h: h.send_json(answer))
    tool = tool_for(vendor.url, type=kind, name=kind, api_key_header="X-API-KEY")
    if kind == "42crunch":
        tool = tool_for(vendor.url, "api_key", type=kind, name=kind, page_size=0)
    outcome = collect_tool(tool, Store(tmp_path).at(date(2026, 11, 23)), use_cache=False)
    assert not outcome.ok
    assert outcome.error.code == "MALFORMED_RESPONSE", outcome.summary()
    assert path in outcome.error.message
    assert not (tmp_path / "2026-11-23" / "raw" / f"{kind}.json").exists()
