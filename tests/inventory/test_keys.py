from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from apiinv.inventory.keys import covers, endpoint_key, normalize_path, path_key, split_key

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8).filter(lambda w: not _hexish(w))
METHOD = st.sampled_from(["get", "GET", "Post", "put", "DELETE", "patch"])
HOST = st.from_regex(r"[a-z]{2,8}\.(example|test)\.(com|io)", fullmatch=True)


def _hexish(word: str) -> bool:
    return len(word) >= 16 and all(c in "abcdef" for c in word)


def test_spellings_of_one_endpoint_share_a_key() -> None:
    spellings = [
        ("GET", "api.acme.example", "/orders/v1", "/orders/{orderId}"),
        ("get", "API.ACME.EXAMPLE:443", "/orders/v1/", "orders/:orderId/"),
        ("Get", "api.acme.example:80", "", "/orders/v1/orders/<int:order_id>"),
        ("GET", "api.acme.example", "", "~/orders/v1/orders/(?<orderId>[^/]+)$"),
        ("GET", "api.acme.example", "", "~/orders/v1/(?i)orders/(?<orderId>[^/]+)$"),
        ("GET", "api.acme.example", "", "~(?i)/orders/(?i:v1)/orders/(?<orderId>[^/]+)$"),
        ("GET", "api.acme.example", "/orders/v1", "/orders/48213"),
        ("GET", "https://api.acme.example", "/orders/v1", f"/orders/{uuid.uuid4()}"),
        ("GET", "api.acme.example.", "/orders//v1", "/orders/507f1f77bcf86cd799439011?expand=true"),
    ]
    keys = {endpoint_key(*spelling) for spelling in spellings}
    assert keys == {"GET api.acme.example/orders/v1/orders/{}"}


def test_different_endpoints_stay_apart() -> None:
    base = endpoint_key("GET", "api.acme.example", "/v1", "/orders/{id}")
    assert endpoint_key("POST", "api.acme.example", "/v1", "/orders/{id}") != base
    assert endpoint_key("GET", "api2.acme.example", "/v1", "/orders/{id}") != base
    assert endpoint_key("GET", "api.acme.example", "/v2", "/orders/{id}") != base
    assert endpoint_key("GET", "api.acme.example", "/v1", "/orders/{id}/items") != base
    assert endpoint_key("GET", "api.acme.example:8443", "/v1", "/orders/{id}") != base
    assert endpoint_key("GET", "api.acme.example", "/v1", "/Orders/{id}") != base  # paths are case-sensitive


def test_helpers() -> None:
    key = endpoint_key("GET", "api.acme.example", "/v1", "/orders/{id}")
    assert split_key(key) == ("GET", "api.acme.example", "/v1/orders/{}")
    assert path_key(key) == "GET /v1/orders/{}"
    assert split_key(endpoint_key(None, None, None, None)) == ("*", "", "/")
    assert covers("/v1", "/v1/orders") and covers("/", "/x") and not covers("/v1", "/v10/orders")


@given(METHOD, HOST, st.lists(WORD, min_size=0, max_size=3), st.lists(WORD, min_size=1, max_size=4))
def test_key_is_idempotent(method: str, host: str, base: list[str], path: list[str]) -> None:
    key = endpoint_key(method, host, "/".join(base), "/".join(path))
    found_method, found_host, found_path = split_key(key)
    assert endpoint_key(found_method, found_host, "", found_path) == key
    assert normalize_path(found_path) == found_path


@given(
    METHOD,
    HOST,
    st.lists(WORD, min_size=1, max_size=3),
    WORD,
    st.integers(min_value=0, max_value=10**9),
    st.uuids(),
)
def test_parameter_spellings_collapse(method, host, segments, name, number, an_uuid) -> None:
    base = "/" + "/".join(segments)
    forms = [f"{{{name}}}", f":{name}", f"<{name}>", str(number), str(an_uuid)]
    keys = {endpoint_key(method, host, base, f"/{form}/details") for form in forms}
    keys.add(endpoint_key(method, host.upper() + ":443", base + "/", f"{{{name}}}/details/"))
    assert len(keys) == 1


@given(METHOD, HOST, st.lists(WORD, min_size=1, max_size=4), st.lists(WORD, min_size=1, max_size=4))
def test_different_literal_paths_give_different_keys(method, host, first, second) -> None:
    one, two = "/" + "/".join(first), "/" + "/".join(second)
    assert (endpoint_key(method, host, "", one) == endpoint_key(method, host, "", two)) == (one == two)


def test_a_parameter_inside_a_segment_is_reduced_in_place() -> None:
    """OAS 3.0.3 section 3.2 "Path Templating": a template expression may be part of a segment."""
    twilio = endpoint_key("GET", "api.twilio.com", "", "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json")
    assert twilio == "GET api.twilio.com/2010-04-01/Accounts/{}/Calls/{}.json"
    assert normalize_path("/files/{file_id}/thumbnail.{extension}") == "/files/{}/thumbnail.{}"
    assert normalize_path("/{section}.{format}") == "/{}.{}"
    assert normalize_path(normalize_path("/Calls/{Sid}.json")) == "/Calls/{}.json"
    # A concrete path keeps its segment: nothing says which part of CA0123.json is a value.
    assert normalize_path("/Accounts/AC42/Calls/CA0123.json") == "/Accounts/AC42/Calls/CA0123.json"
    # A Kong regex's quantifier is no template expression.
    assert normalize_path("~/persons/\\d{3}$") == "/persons/\\d{3}"
