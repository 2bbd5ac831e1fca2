"""Where a hex id stops being a path word: keys.py reduces a segment of 16 or more hex characters with at
least one digit in it (Mongo ObjectIds, hashes) to {}; anything shorter, or without a digit, stays."""

from __future__ import annotations

import pytest

from apiinv.inventory.keys import endpoint_key

ANY_ID = "GET api.acme.example/v1/orders/{}/items"


def key(segment: str) -> str:
    return endpoint_key("GET", "api.acme.example", "/v1", f"/orders/{segment}/items")


@pytest.mark.parametrize(
    "segment",
    [
        "0123456789abcdef",  # 16: the shortest id
        "0123456789abcdef0123456",  # 23: one short of an ObjectId
        "507f1f77bcf86cd799439011",  # 24: a Mongo ObjectId
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # 40: a SHA-1
        "0123456789ABCDEF",  # upper case
        "abcdefabcdefabc1",  # letters with one digit
    ],
)
def test_a_long_hex_id_is_a_parameter(segment: str) -> None:
    assert key(segment) == ANY_ID


@pytest.mark.parametrize(
    "segment",
    [
        "0123456789abcde",  # 15: one short of an id
        "deadbeefcafebabe",  # 16 letters and no digit: may be a word
        "0123456789abcdeg",  # 16, but g is no hex digit
        "0123456789abcdef-x",
    ],
)
def test_a_shorter_or_wordlike_segment_stays_a_path_word(segment: str) -> None:
    assert key(segment) == f"GET api.acme.example/v1/orders/{segment}/items"
