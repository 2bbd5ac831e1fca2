from __future__ import annotations

import gc
import logging
import threading
import time
from datetime import date
from email.utils import formatdate
from pathlib import Path

import pytest
from generic_api import API_KEY, CLIENT_ID, CLIENT_SECRET, ITEMS, PASSWORD, STATIC_TOKEN, USER, GenericApi

from apiinv import config
from apiinv.config import ToolConfig
from apiinv.errors import AuthenticationError, MalformedResponseError, RetriesExhaustedError
from apiinv.http import deadline
from apiinv.http.client import HttpClient
from apiinv.http.retry import parse_retry_after
from apiinv.sandbox.server import SimServer

NAMES = [i["name"] for i in ITEMS]


@pytest.fixture
def serve():
    servers = []

    def start(app: GenericApi) -> SimServer:
        server = SimServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def tool_for(url: str, **overrides) -> ToolConfig:
    values = dict(
        name="generic",
        type="kong",
        base_url=url,
        auth_type="none",
        max_retries=5,
        max_retry_wait=30,
        timeout=5,
        retry_after_cap=10,
        retry_backoff=0.01,
    )
    values.update(overrides)
    return ToolConfig(**values)


def credentials_for(kind: str, server: SimServer, tmp_path: Path) -> dict:
    if kind == "api_key":
        return {"credentials": {"api_key": API_KEY}}
    if kind == "bearer":
        return {"credentials": {"token": STATIC_TOKEN}}
    if kind == "basic":
        return {"credentials": {"username": USER, "password": PASSWORD}}
    if kind == "oauth":
        return {
            "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            "token_url": server.url + "/token",
        }
    key_file = server.app.accounts.write_key_file(tmp_path / "sa.json", server.url + "/google/token")
    return {"credentials": {"key_file": str(key_file)}}


AUTH_KINDS = ["api_key", "bearer", "basic", "oauth", "service_account"]


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_every_auth_kind_reaches_protected_data(kind: str, serve, tmp_path: Path) -> None:
    server = serve(GenericApi(auth=kind))
    tool = tool_for(server.url, auth_type=kind, **credentials_for(kind, server, tmp_path))
    with HttpClient(tool) as client:
        assert client.get_json("/items/all")["list"] == ITEMS
        assert client.get_json("/items/all")["list"] == ITEMS
    if kind in ("oauth", "service_account"):
        assert server.app.tokens.issued == 1  # the token is cached between requests


@pytest.mark.parametrize("kind", ["api_key", "basic", "oauth"])
def test_refused_credentials_are_an_authentication_error(kind: str, serve, tmp_path: Path) -> None:
    server = serve(GenericApi(auth=kind))
    values = credentials_for(kind, server, tmp_path)
    values["credentials"] = {
        k: v + "-wrong" if k != "client_id" else v for k, v in values["credentials"].items()
    }
    with (
        HttpClient(tool_for(server.url, auth_type=kind, **values)) as client,
        pytest.raises(AuthenticationError),
    ):
        client.get_json("/items/all")


@pytest.mark.parametrize("kind", ["oauth", "service_account"])
def test_token_revoked_mid_run_is_fetched_again_once(kind: str, serve, tmp_path: Path) -> None:
    server = serve(GenericApi(auth=kind))
    tool = tool_for(server.url, auth_type=kind, **credentials_for(kind, server, tmp_path))
    with HttpClient(tool) as client:
        client.get_json("/items/all")
        server.app.inject("expire_tokens")
        assert client.get_json("/items/all")["list"] == ITEMS
        assert client.stats.auth_refreshes == 1
    assert server.app.tokens.issued == 2


def test_oauth_token_is_refreshed_before_it_expires(serve, tmp_path: Path) -> None:
    app = GenericApi(auth="oauth")
    app.tokens.lifetime = 1.0
    server = serve(app)
    refused = []
    original = app.authenticate
    app.authenticate = lambda r: refused.append(r) or original(r) if original(r) else None
    with HttpClient(
        tool_for(server.url, auth_type="oauth", **credentials_for("oauth", server, tmp_path))
    ) as client:
        client.get_json("/items/all")
        time.sleep(1.0)
        client.get_json("/items/all")
    assert app.tokens.issued == 2
    assert refused == []  # the new token came before the old one was refused


PAGINATION_CASES = [
    ("/items/page", "page", "list", {}, 5, "short page"),
    ("/items/offset", "offset", "data", {"total_key": "total"}, 10, "total reached"),
    ("/items/token", "token", "things", {}, 10, "no next token"),
    ("/items/cursor", "cursor", "items", {"cursor_key": "meta.next"}, 10, "no next cursor"),
    ("/items/startkey", "start_key", "apiProduct", {}, 10, "short page"),
    ("/items/next", "next_link", "data", {}, 4, "no next link"),
]


@pytest.mark.parametrize("path, strategy, key, options, size, reason", PAGINATION_CASES)
def test_every_pagination_style_yields_each_item_once(
    path, strategy, key, options, size, reason, serve
) -> None:
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client:
        items = client.paginate_all(path, strategy=strategy, items_key=key, page_size=size, **options)
        assert [i["name"] for i in items] == NAMES
        assert client.stats.stops == {reason: 1}


def test_page_sized_exactly_to_the_estate_stops_on_the_empty_page(serve) -> None:
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client:
        items = client.paginate_all("/items/page", strategy="page", items_key="list", page_size=23)
        assert len(items) == 23 and client.stats.stops == {"empty page": 1} and client.stats.pages == 2


def test_cycling_token_stops_and_says_so(serve, caplog) -> None:
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client, caplog.at_level(logging.WARNING, "apiinv"):
        logging.getLogger("apiinv").propagate = True
        items = client.paginate_all("/items/cycle", strategy="token", items_key="things", page_size=5)
        assert len(items) == 10  # the first page, then the repeat that revealed the cycle
        assert client.stats.truncated == [
            "/items/cycle (repeated token 'same-token-again': the server is cycling)"
        ]
    assert any("repeated token" in r.getMessage() for r in caplog.records)


def test_page_cap_stops_and_says_so(serve) -> None:
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url, max_pages=2)) as client:
        items = client.paginate_all("/items/page", strategy="page", items_key="list", page_size=5)
        assert len(items) == 10
        assert client.stats.stops == {"page cap 2 reached": 1}


def test_a_non_list_where_items_belong_is_a_malformed_response(serve) -> None:
    server = serve(GenericApi())
    with (
        HttpClient(tool_for(server.url)) as client,
        pytest.raises(MalformedResponseError, match="expected a list"),
    ):
        client.paginate_all("/scalar", strategy="page", items_key="list")


def test_429_with_retry_after_seconds_is_honoured(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("status", status=429, retry_after="1", times=2)
    with HttpClient(tool_for(server.url)) as client:
        started = time.monotonic()
        assert client.get_json("/items/all")["list"] == ITEMS
        assert time.monotonic() - started >= 1.9
        assert client.stats.retries == 2


def test_429_with_retry_after_http_date_is_honoured(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("status", status=429, retry_after=formatdate(time.time() + 2, usegmt=True))
    with HttpClient(tool_for(server.url)) as client:
        started = time.monotonic()
        client.get_json("/items/all")
        assert time.monotonic() - started >= 0.9
        assert client.stats.retries == 1


def test_retry_after_is_capped(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("status", status=503, retry_after="3600")
    # Were the cap ignored, max_retry_wait and tool_deadline would end the wait at 3 s: no hang.
    tool = tool_for(server.url, retry_after_cap=0.3, max_retry_wait=3, tool_deadline=4)
    with HttpClient(tool) as client:
        started = time.monotonic()
        assert client.get_json("/items/all")["list"] == ITEMS
        waited = time.monotonic() - started
    assert client.stats.retries == 1
    assert 0.3 <= waited < 1.5  # the cap, not the hour the server asked for


@pytest.mark.parametrize(
    "kind, status", [("status", 503), ("status", 502), ("status", 504), ("html502", 502)]
)
def test_5xx_bursts_are_retried(kind: str, status: int, serve) -> None:
    server = serve(GenericApi())
    server.app.inject(kind, status=status, times=3)
    with HttpClient(tool_for(server.url, retry_after_cap=0.05)) as client:
        assert client.get_json("/items/all")["list"] == ITEMS
        assert client.stats.retries == 3


def test_a_500_storm_beyond_the_retries_fails_with_a_clear_error(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("status", status=503, times=1000, retry_after="0")
    with (
        HttpClient(tool_for(server.url, max_retries=2)) as client,
        pytest.raises(RetriesExhaustedError) as caught,
    ):
        client.get_json("/items/all")
    message = str(caught.value)
    assert "HTTP 503 after 2 retries" in message and "/items/all" in message
    assert server.app.hits["/items/all"] == 3


def test_total_retry_wait_is_capped(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("status", status=503, times=1000, retry_after="1")
    client = HttpClient(tool_for(server.url, max_retries=50, max_retry_wait=1.5))
    with client, pytest.raises(RetriesExhaustedError):
        client.get_json("/items/all")
    # Retry-After 1 s against a 1.5 s budget leaves room for two waits, not for the 50 tries allowed.
    assert server.app.hits["/items/all"] <= 3


@pytest.mark.parametrize("kind", ["reset", "cut"])
def test_connection_resets_and_cut_bodies_are_retried(kind: str, serve) -> None:
    server = serve(GenericApi())
    server.app.inject(kind, times=2)
    with HttpClient(tool_for(server.url)) as client:
        assert client.get_json("/items/all")["list"] == ITEMS
        assert client.stats.retries == 2


def test_a_response_slower_than_the_timeout_is_retried(serve) -> None:
    server = serve(GenericApi())
    server.app.inject("slow", delay=1.5)
    with HttpClient(tool_for(server.url, timeout=0.5)) as client:
        assert client.get_json("/items/all")["list"] == ITEMS
        assert client.stats.retries == 1


def test_truncated_json_is_fetched_again(serve, tmp_path: Path) -> None:
    server = serve(GenericApi())
    server.app.inject("truncate", path="/items/all")
    tool = tool_for(server.url)
    with HttpClient(tool, cache_dir=tmp_path / "cache", cache_namespace="d") as client:
        assert client.get_json("/items/all")["list"] == ITEMS
    assert server.app.hits["/items/all"] == 2


def test_malformed_json_is_a_clear_error(serve) -> None:
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client, pytest.raises(MalformedResponseError) as caught:
        client.get_json("/malformed")
    assert "generic: GET http://127.0.0.1" in str(caught.value) and "malformed JSON" in str(caught.value)


def test_eight_threads_share_one_rate_limit(serve) -> None:
    app = GenericApi(rate_limit=600)  # the server itself answers 429 past 10 requests a second
    server = serve(app)
    with HttpClient(tool_for(server.url, rate_limit=600, concurrency=8)) as client:
        threads = [
            threading.Thread(target=lambda: [client.get_json("/items/all") for _ in range(5)])
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert client.stats.requests == 40
    assert app.throttled == 0
    # 10 a second; the server sees arrivals late by scheduling jitter (allowed: 100 ms).
    assert app.max_in_window(2.0) <= 2 * 10 + 1 + 1


def test_cache_answers_repeats_within_a_run_date_only(serve, tmp_path: Path) -> None:
    server = serve(GenericApi())
    tool = tool_for(server.url, rate_limit=6000)
    with HttpClient(tool, cache_dir=tmp_path, cache_namespace="2026-11-23") as client:
        client.get_json("/items/all")
        client.get_json("/items/all")
        assert (client.stats.requests, client.stats.cache_hits) == (1, 1)
        assert oct((tmp_path / "generic.sqlite").stat().st_mode & 0o777) == "0o600"  # from the first write on
    with HttpClient(tool, cache_dir=tmp_path, cache_namespace="2026-11-23") as client:
        client.get_json("/items/all")
        assert client.stats.cache_hits == 1  # a re-run of the date re-fetches nothing
    with HttpClient(tool, cache_dir=tmp_path, cache_namespace="2026-11-24") as client:
        client.get_json("/items/all")
        assert client.stats.cache_hits == 0
    with HttpClient(tool, cache_dir=tmp_path, cache_namespace="2026-11-23", refresh=True) as client:
        client.get_json("/items/all")
        assert client.stats.cache_hits == 0
    assert server.app.hits["/items/all"] == 3
    assert oct((tmp_path / "generic.sqlite").stat().st_mode & 0o777) == "0o600"


def test_another_dates_answer_is_revalidated_and_a_304_costs_no_body(serve, tmp_path: Path) -> None:
    """An answer with an ETag or Last-Modified is asked again the next date with If-None-Match /
    If-Modified-Since: unchanged, the 304 brings no body and the cached one is used (counted as
    revalidated); changed, the new body arrives. Without validators, another date fetches anew."""
    app = GenericApi()
    server = serve(app)
    tool = tool_for(server.url, rate_limit=6000)

    def day(date_: str) -> tuple[HttpClient, list]:
        with HttpClient(tool, cache_dir=tmp_path, cache_namespace=date_) as client:
            client.get_json("/items/page", params={"page": 1, "perPage": 1})  # proves the credentials
            answers = [client.get_json(p) for p in ("/items/etag", "/items/modified", "/items/all")]
        return client, answers

    first, answers = day("2026-11-23")
    assert (first.stats.revalidated, app.conditional) == (0, [])
    again, same = day("2026-11-23")  # a re-run of the date: from the cache, nothing asked
    assert (again.stats.requests, again.stats.cache_hits, app.conditional) == (0, 4, [])
    assert same == answers
    second, unchanged = day("2026-11-24")
    assert unchanged == answers
    assert app.conditional == ['"v1"', "Mon, 21 Nov 2026 09:00:00 GMT"]
    assert (second.stats.revalidated, second.stats.requests, second.stats.as_dict()["revalidated"]) == (
        2,
        4,
        2,
    )
    assert server.app.hits["/items/all"] == 2  # no validators: fetched again in full
    rerun, _ = day("2026-11-24")
    assert (rerun.stats.requests, rerun.stats.revalidated) == (0, 0)  # revalidated: they hold for the date
    app.version = 2
    third, changed = day("2026-11-25")
    assert third.stats.revalidated == 0 and changed[0] == {"list": ITEMS[:2], "version": 2}


def test_secrets_reach_no_log_error_or_cache(serve, tmp_path: Path) -> None:
    from apiinv.logs import setup_logging

    setup_logging(tmp_path / "logs", level="DEBUG")
    secrets = [API_KEY, PASSWORD, CLIENT_SECRET, STATIC_TOKEN]
    for kind in ["api_key", "basic", "oauth", "bearer"]:
        server = serve(GenericApi(auth=kind))
        values = credentials_for(kind, server, tmp_path)
        tool = tool_for(server.url, name=f"t-{kind}", auth_type=kind, **values)
        with HttpClient(tool, cache_dir=tmp_path / "cache", cache_namespace="d") as client:
            client.get_json("/items/all")
            try:
                client.get_json(f"/items/all?access_token={STATIC_TOKEN}&api_key={API_KEY}")
            except Exception as exc:
                (tmp_path / f"error-{kind}.txt").write_text(str(exc))
            server.app.inject("status", status=503, times=100, retry_after="0")
            with pytest.raises(RetriesExhaustedError) as caught:
                client.get_json(f"/items/page?token={STATIC_TOKEN}")
            (tmp_path / f"error2-{kind}.txt").write_text(str(caught.value) + repr(caught.value.as_record()))
            logging.getLogger("apiinv.http").error("failed", exc_info=True)
        if kind == "oauth":
            secrets += list(server.app.tokens._tokens)
    logging.getLogger("apiinv").handlers.clear()
    blob = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "sa.json")
    assert b"items/all" in blob  # the log and cache were written
    for secret in secrets:
        assert secret.encode() not in blob, secret


@pytest.mark.parametrize(
    "value, expected", [("120", 120.0), (" 3 ", 3.0), ("soon", None), ("", None), (None, None)]
)
def test_parse_retry_after_seconds(value, expected) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 23 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now=now) == 0.0


def test_a_retry_after_pauses_every_worker_of_the_tool(serve) -> None:
    """One worker is told to come back in a second: the others hold back too, instead of being refused."""
    app = GenericApi()
    server = serve(app)
    fault = app.inject("status", status=429, retry_after="1", times=1)
    with HttpClient(tool_for(server.url, concurrency=8)) as client:
        first = threading.Thread(target=lambda: client.get_json("/items/all"))
        first.start()
        deadline = time.monotonic() + 5
        while fault.times > 0 and time.monotonic() < deadline:  # the 429 has been answered
            time.sleep(0.005)
        time.sleep(0.05)  # ... and read by the client
        others = [threading.Thread(target=lambda: client.get_json("/items/page")) for _ in range(6)]
        for thread in [*others]:
            thread.start()
        for thread in [first, *others]:
            thread.join()
    refused_at, *later = sorted(app.arrivals)
    assert len(later) == 7
    assert all(t - refused_at >= 0.9 for t in later), [round(t - refused_at, 2) for t in later]


def test_a_429_halves_the_pace_once_per_burst_and_successes_win_it_back() -> None:
    from apiinv.http.ratelimit import RateLimiter

    limiter = RateLimiter(600)
    limiter.throttled()  # nothing sent yet: no rate to judge
    assert limiter.per_minute == 600
    for _ in range(RateLimiter.MIN_SAMPLE):
        limiter._sent.append(time.monotonic())
    limiter.throttled()
    limiter.throttled()  # the same burst refused: one signal
    assert limiter.per_minute == 240  # half of what was sent: 8 requests within the last second
    for _ in range(10 * RateLimiter.RAISE_AFTER):
        limiter.succeeded()
    assert 240 < limiter.per_minute <= 600 and limiter.ceiling == 600

    unknown = RateLimiter(None)  # tools.yaml set no rate: nothing waits until a vendor refuses one
    assert all(unknown.acquire() == 0 for _ in range(RateLimiter.MIN_SAMPLE))
    unknown.throttled()
    assert unknown.per_minute is not None and unknown.per_minute >= RateLimiter.MIN_PER_MINUTE


def test_a_vendor_stricter_than_tools_yaml_paces_the_tool_with_few_refusals(tmp_path: Path) -> None:
    """42Crunch allows 600 requests a minute, tools.yaml says nothing: the tool finishes, every worker
    waits out each Retry-After, and the pace settles instead of being refused after every pause."""
    from apiinv.pipeline.collect import collect
    from apiinv.sandbox.launch import Sandbox
    from apiinv.store import Store

    with Sandbox(size=24, day=date(2026, 11, 23), rate_limits={"42crunch": 600}) as sandbox:
        tool = config.load(sandbox.write_config(tmp_path / "sb")).tools["42crunch"]
        tool.rate_limit = None
        day = Store(tmp_path / "out").at(date(2026, 11, 23))
        (outcome,) = collect([tool], day, workers=8, use_cache=False)
        app = sandbox.apps["42crunch"]
    assert outcome.ok, outcome.summary()
    assert app.throttled >= 1 and app.ignored_retry_after == 0
    assert app.throttled <= outcome.stats["requests"] / 4


def test_post_put_and_delete_go_through_the_same_client(tmp_path: Path) -> None:
    """The plan's common REST utility: every verb with auth, origin pinning and errors; only GET is cached."""
    from hostile_api import HostileServer

    with HostileServer() as server:
        server.route(
            "/things", lambda h: h.send_json({"method": h.command}, 201 if h.command == "POST" else 200)
        )
        tool = tool_for(server.url, auth_type="api_key", credentials={"api_key": API_KEY})
        with HttpClient(tool, cache_dir=tmp_path, cache_namespace="d") as client:
            assert client.post("/things", json={"name": "a"}).json() == {"method": "POST"}
            assert client.put("/things", json={"name": "b"}).json() == {"method": "PUT"}
            assert client.delete("/things").json() == {"method": "DELETE"}
            client.post("/things", json={"name": "a"})
    methods = [r["method"] for r in server.received]
    assert methods == ["POST", "PUT", "DELETE", "POST"]  # nothing answered from the cache
    assert all(r["headers"].get("X-API-KEY") == API_KEY for r in server.received)
    assert server.received[0]["body"] == b'{"name": "a"}'


def test_requests_leave_nothing_for_the_cycle_collector(serve) -> None:
    """Each request's watchdog is served by one shared thread: a timer thread of its own per request
    left about 30 objects in reference cycles, which the collector walked the whole heap to find."""
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client:
        client.get_json("/items/all")  # the connection, and what is made once
        gc.collect()
        gc.disable()
        try:
            for _ in range(100):
                client.get_json("/items/all")
            left = gc.collect()
        finally:
            gc.enable()
    # 2,600 with a timer thread per request; what else this process runs (other tests' servers) may
    # leave a few hundred meanwhile.
    assert left < 1_000, f"{left} objects in cycles after 100 requests"


def test_answers_hold_each_equal_text_once(serve) -> None:
    """A tool's answers repeat few values many times: each is held once however often it comes."""
    server = serve(GenericApi())
    with HttpClient(tool_for(server.url)) as client:
        first, second = client.get_json("/items/all"), client.get_json("/items/all")
    assert first == second == {"list": ITEMS}
    assert all(a["name"] is b["name"] for a, b in zip(first["list"], second["list"], strict=True))


def test_deadlines_still_fire_after_the_watchdog_thread_ended(monkeypatch) -> None:
    alarms = deadline._Alarms()  # this test's own: another test's thread may serve the shared ones
    alarms._thread = threading.Thread(target=lambda: None)
    alarms._thread.start()
    alarms._thread.join()
    monkeypatch.setattr(deadline, "_alarms", alarms)
    assert fires(deadline.Watchdog(0.01))


def fires(watchdog: deadline.Watchdog) -> bool:
    with watchdog:
        waited = 0.0
        while not watchdog.fired and waited < 10:
            time.sleep(0.01)
            waited += 0.01
    return watchdog.fired


@pytest.mark.parametrize("seconds", [1e12, float("inf"), float("nan")])
def test_a_deadline_too_far_or_no_number_leaves_the_others_working(monkeypatch, seconds: float) -> None:
    monkeypatch.setattr(deadline, "_alarms", deadline._Alarms())
    with deadline.Watchdog(seconds):
        assert fires(deadline.Watchdog(0.01))


def test_requests_that_ended_do_not_stay_queued_until_their_deadline(monkeypatch) -> None:
    alarms = deadline._Alarms()
    monkeypatch.setattr(deadline, "_alarms", alarms)
    monkeypatch.setattr(alarms, "PRUNE_EVERY", 3)
    for _ in range(3):
        with deadline.Watchdog(3600):
            pass
    assert alarms._due == []
