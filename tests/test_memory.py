from __future__ import annotations

import gc
import threading

import pytest

from apiinv import memory


class Cycle:
    def __init__(self) -> None:
        self.me = self


def collections_during(action) -> dict[int, int]:
    """How many collections of each generation the collector ran while ``action()`` ran."""
    counts = {0: 0, 1: 0, 2: 0}

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            counts[info["generation"]] += 1

    gc.callbacks.append(seen)
    try:
        action()
    finally:
        gc.callbacks.remove(seen)
    return counts


def make_garbage_and_keep_some() -> list[Cycle]:
    kept = []
    for n in range(300_000):
        Cycle()  # garbage in a cycle, for the young collections to find
        if n % 2:
            kept.append(Cycle())  # what a stage keeps: it ages into the oldest generation
    return kept


def test_a_stage_walks_only_young_objects_and_still_frees_their_cycles() -> None:
    before = gc.get_threshold()
    with memory.full_collections_held():
        counts = collections_during(make_garbage_and_keep_some)
        # The young collections freed the 300,000 cycles made on the way, but for the last few thousand.
        assert gc.collect(1) < 10_000
    assert counts[2] == 0 and counts[0] > 100
    assert gc.get_threshold() == before
    assert collections_during(make_garbage_and_keep_some)[2] > 0  # as ever afterwards


@pytest.mark.parametrize("first_ends_first", [True, False])
def test_stages_side_by_side_restore_the_collector_when_the_last_ends(first_ends_first: bool) -> None:
    before = gc.get_threshold()
    entered, may_end, ended = threading.Event(), threading.Event(), threading.Event()
    while_one_still_runs: list[int] = []

    def other_stage() -> None:
        with memory.full_collections_held():
            entered.set()
            may_end.wait(10)
        ended.set()

    other = threading.Thread(target=other_stage)
    with memory.full_collections_held():
        other.start()
        entered.wait(10)
        if first_ends_first:  # the other stage ends while this one still runs
            may_end.set()
            ended.wait(10)
            while_one_still_runs.append(gc.get_threshold()[2])
    if not first_ends_first:  # this stage ended first: the other still runs
        while_one_still_runs.append(gc.get_threshold()[2])
        may_end.set()
    other.join()
    assert while_one_still_runs == [memory.NEVER]
    assert gc.get_threshold() == before


def test_a_failing_stage_restores_the_collector() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), memory.full_collections_held():
        raise RuntimeError("the stage failed")
    assert gc.get_threshold() == before


def test_equal_texts_of_a_document_are_held_once_and_the_document_reads_the_same() -> None:
    import orjson

    text = orjson.dumps(
        {
            "hosts": [{"host": "api.example", "tags": ["OK", "OK"]}, {"host": "api.example", "n": 1}],
            "api.example": {"host": "api.example", "nested": [[["OK"]]], "none": None, "flag": True},
        }
    )
    document, texts = orjson.loads(text), {}
    assert document["hosts"][0]["host"] is not document["hosts"][1]["host"]  # what a parser makes

    shared = memory.share_texts(document, texts)

    assert shared is document and orjson.dumps(shared) == text
    hosts = [document["hosts"][0]["host"], document["hosts"][1]["host"], document["api.example"]["host"]]
    assert all(host is hosts[0] for host in hosts)
    assert (
        document["hosts"][0]["tags"][0]
        is document["hosts"][0]["tags"][1]
        is document["api.example"]["nested"][0][0][0]
    )
    # A second document takes the texts the first left in the table.
    later = memory.share_texts(orjson.loads(b'{"h": "api.example", "list": ["OK"]}'), texts)
    assert later["h"] is hosts[0] and later["list"][0] is document["hosts"][0]["tags"][0]


def test_long_texts_are_left_alone_and_not_kept_by_the_table() -> None:
    blob = "QUJD" * 1_000  # a spec's base64: seldom repeated, and kept alive by a table that held it
    texts: dict[str, str] = {}
    document = memory.share_texts({"specfile": blob, "name": "short"}, texts)
    assert document == {"specfile": blob, "name": "short"} and texts == {"short": "short"}


@pytest.mark.parametrize("document", ["a text", 7, None, [], {}])
def test_a_document_without_texts_inside_comes_back_as_it_was(document) -> None:
    assert memory.share_texts(document, {}) == document
