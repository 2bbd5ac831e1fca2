from __future__ import annotations

import gc
import platform
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


_HEAPS = """
import ctypes, os, sys, tempfile, threading
from apiinv import memory
if sys.argv[1] == "fewer":
    memory.fewer_heaps()
def allocate():
    kept = [bytearray(4096) for _ in range(2000)]  # larger than Python's own small-object pools
    barrier.wait()
barrier = threading.Barrier(8)
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(open(path).read().count("<heap nr="))
os.unlink(path)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="heaps of glibc's malloc")
@pytest.mark.parametrize("operator_setting", [None, "4"])
def test_threads_that_allocate_at_once_share_two_heaps_unless_the_operator_says(operator_setting) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}

    def heaps(how: str, setting: str | None) -> int:
        extra = {"MALLOC_ARENA_MAX": setting} if setting else {}
        done = subprocess.run(
            [sys.executable, "-c", _HEAPS, how],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout)

    if operator_setting is None:
        assert heaps("fewer", None) <= 2 < heaps("default", None)
    else:
        assert heaps("fewer", operator_setting) == heaps("default", operator_setting) > 2
