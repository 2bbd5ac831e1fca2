from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiinv.store import Store, read_json, write_atomic, write_json


def test_files_and_folders_are_owner_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "output")
    path = write_json(store.raw_path("2026-11-23", "kong"), {"ok": True})
    assert path.stat().st_mode & 0o777 == 0o600
    for folder in (path.parent, path.parent.parent, store.root):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_json(target, {"version": 1})

    def chunks():
        yield b'{"version": 2, '
        raise RuntimeError("the producer died")

    with pytest.raises(RuntimeError):
        write_atomic(target, chunks())
    assert read_json(target) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left behind


def test_a_killed_writer_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "raw.json"
    write_json(target, {"good": "earlier run"})
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from apiinv.store import write_atomic
        def chunks():
            while True:
                yield b"x" * 65536
                sys.stdout.write("writing\\n"); sys.stdout.flush()
                time.sleep(0.01)
        write_atomic(Path({str(target)!r}), chunks())
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert process.stdout.readline() == b"writing\n"
    time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert read_json(target) == {"good": "earlier run"}


def test_manifest_records_steps_from_many_threads(tmp_path: Path) -> None:
    store = Store(tmp_path)
    tools = [f"tool{i}" for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: store.record_step("2026-11-23", t, "collect", {"status": "ok"}), tools))
    manifest = store.read_manifest("2026-11-23")
    assert sorted(manifest["tools"]) == sorted(tools)


def test_last_good_finds_the_newest_successful_earlier_date(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.record_step("2026-11-20", "kong", "collect", {"status": "ok"})
    store.record_step("2026-11-21", "kong", "collect", {"status": "failed"})
    store.record_step("2026-11-22", "kong", "collect", {"status": "ok"})
    (tmp_path / "logs").mkdir()
    assert store.dates() == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert store.last_good("kong", "collect", before=date(2026, 11, 22)) == date(2026, 11, 20)
    assert store.last_good("kong", "collect") == date(2026, 11, 22)
    assert store.last_good("apigee", "collect") is None


def test_a_name_that_is_not_utf8_is_written_as_its_escaped_bytes(tmp_path: Path) -> None:
    from apiinv.store import read_json, write_json

    name = os.fsdecode(b"specs/\xfe\xff.yaml")
    write_json(tmp_path / "doc.json", {"warnings": [f"{name}: unreadable"], name: "\ud800 lone"})
    assert read_json(tmp_path / "doc.json") == {
        "warnings": ["specs/\\xfe\\xff.yaml: unreadable"],
        "specs/\\xfe\\xff.yaml": "\\ud800 lone",
    }


def test_a_simulated_store_marks_what_it_records_and_real_and_simulated_dates_never_meet(
    tmp_path: Path,
) -> None:
    real, demo = Store(tmp_path), Store(tmp_path, simulated=True)
    real.record_step("2026-11-20", "kong", "process", {"status": "ok"})
    demo.record_step("2026-11-21", "kong", "process", {"status": "ok"})
    demo.record_run("2026-11-21", {"exit_status": 0})
    manifest = real.read_manifest("2026-11-21")
    assert manifest["simulated"] is True and manifest["runs"] == [{"exit_status": 0, "simulated": True}]
    assert manifest["tools"]["kong"]["process"] == {"status": "ok", "simulated": True}
    assert (real.is_simulated("2026-11-21"), real.is_simulated("2026-11-20")) == (True, False)
    assert "simulated" not in real.read_manifest("2026-11-20")["tools"]["kong"]["process"]
    # Each store looks back for data of its own kind, unless told which kind.
    assert real.last_good("kong", "process") == date(2026, 11, 20)
    assert demo.last_good("kong", "process") == date(2026, 11, 21)
    assert real.last_good("kong", "process", simulated=True) == date(2026, 11, 21)


def test_two_processes_recording_steps_on_one_date_at_once_lose_nothing(tmp_path: Path) -> None:
    # Each process reads the manifest into its date handle first, then records: a handle that wrote
    # its cached copy back without refreshing it under the lock would drop the other's entries.
    script = textwrap.dedent(
        """
        import sys
        from datetime import date
        from pathlib import Path
        from apiinv.store import Store
        day = Store(Path(sys.argv[1])).at(date(2026, 11, 23))
        day.manifest
        sys.stdin.readline()
        for i in range(40):
            day.record_step(f"{sys.argv[2]}{i}", "collect", {"status": "ok"})
        """
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), name], stdin=subprocess.PIPE, text=True
        )
        for name in ("a", "b")
    ]
    for writer in writers:  # both hold a manifest read before either recorded anything
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.close()
    assert [writer.wait(timeout=30) for writer in writers] == [0, 0]
    tools = Store(tmp_path).read_manifest(date(2026, 11, 23))["tools"]
    assert sorted(tools) == sorted(f"{name}{i}" for name in "ab" for i in range(40))


def test_last_good_follows_steps_as_they_are_recorded_and_skips_a_simulated_date(tmp_path: Path) -> None:
    real, demo = Store(tmp_path), Store(tmp_path, simulated=True)
    day1, day2, day3, day4 = (date(2026, 11, d) for d in (20, 21, 22, 23))
    real.record_step(day1, "kong", "process", {"status": "ok"})
    assert real.last_good("kong", "process", before=day4) == day1
    demo.record_step(day2, "kong", "process", {"status": "ok"})  # the demo, writing in between
    real.record_step(day3, "kong", "process", {"status": "ok"})
    assert real.last_good("kong", "process", before=day4) == day3
    assert real.last_good("kong", "process", before=day3) == day1  # never the simulated date
    assert demo.last_good("kong", "process", before=day4) == day2
    real.record_step(day3, "kong", "process", {"status": "failed"})  # the date's run again, failing
    assert real.last_good("kong", "process", before=day4) == day1
    assert real.last_good("kong", "process", before=day4, statuses=("failed",)) == day3
    # A new process (a new store) reads the same answers from the manifests.
    assert Store(tmp_path).last_good("kong", "process", before=day4) == day1


def test_a_document_is_written_in_pieces_each_far_smaller_than_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A raw inventory at 50,000 APIs is hundreds of MB of JSON: never held as one bytes object too."""
    import apiinv.store as store

    pieces: list[bytes] = []
    real = store.write_atomic
    monkeypatch.setattr(
        store, "write_atomic", lambda path, chunks: real(path, pieces.extend(chunks) or pieces)
    )
    document = {
        "tool": "kong",
        "data": {"workspaces": {"default": {"routes": [{"id": n} for n in range(2000)]}}},
    }
    store.write_json(tmp_path / "raw.json", document)
    written = (tmp_path / "raw.json").read_bytes()
    assert orjson.loads(written) == document
    assert len(pieces) > 2000 and max(map(len, pieces)) < 100


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False)
        | st.text()
        | st.sampled_from(["\udcff", "a\ud800b"]),  # lone surrogates: written escaped, in pieces too
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.text() | st.integers(-(2**63), 2**63 - 1), inner, max_size=4)
        ),
        max_leaves=40,
    )
)
def test_a_document_in_pieces_reads_back_as_the_document_whole(document: object) -> None:
    from apiinv.store import dumps, dumps_chunks

    assert orjson.loads(b"".join(dumps_chunks(document))) == orjson.loads(dumps(document))


def test_a_raw_file_has_its_structure_indented_and_one_item_per_line(tmp_path) -> None:
    from apiinv.store import write_json

    items = [{"id": n, "spec": {"paths": {"/a": {"get": {"responses": {"200": {}}}}}}} for n in range(3)]
    path = write_json(tmp_path / "raw.json", {"tool": "42crunch", "data": {"apis": items, "collections": []}})

    lines = path.read_bytes().split(b"\n")
    assert lines[:3] == [b"{", b'  "tool": "42crunch",', b'  "data": {']
    assert [orjson.loads(line.strip().rstrip(b",")) for line in lines[4:7]] == items
    assert orjson.loads(path.read_bytes()) == {"tool": "42crunch", "data": {"apis": items, "collections": []}}


_JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40,
)


def _layouts(document: object) -> dict[str, bytes]:
    """The layouts a raw file may have: as written now, as orjson indents, and in one line."""
    from apiinv.store import dumps, dumps_chunks

    return {
        "pieces": b"".join(dumps_chunks(document)),
        "indented": dumps(document),
        "one line": dumps(document, indent=False),
    }


@settings(max_examples=300, deadline=None)
@given(_JSON_DOCUMENTS)
def test_a_file_read_a_line_at_a_time_is_the_document_and_each_list_item_is_seen_once(
    tmp_path_factory: pytest.TempPathFactory, document: object
) -> None:
    folder = tmp_path_factory.mktemp("lines")
    expected_items: list[tuple[tuple[str, ...], object]] = []
    from apiinv.store import ItemHook, _each_item, _LineReader

    def noted(into: list[tuple[tuple[str, ...], object]]) -> ItemHook:
        return lambda keys, item: into.append((keys, item)) or item

    _each_item(orjson.loads(orjson.dumps(document)), noted(expected_items), ())
    for layout, text in _layouts(document).items():
        path = folder / f"{layout}.json"
        path.write_bytes(text)
        seen: list[tuple[tuple[str, ...], object]] = []
        assert read_json(path) == orjson.loads(text), layout
        assert read_json(path, noted(seen)) == orjson.loads(text)
        assert sorted(map(repr, seen)) == sorted(map(repr, expected_items)), layout
        with path.open("rb") as handle:  # by line, never by the whole file's fallback
            assert _LineReader(None).read(handle) == orjson.loads(text), layout


@pytest.mark.parametrize(
    "broken",
    [
        b'{\n  "data": {\n    "apis": [\n      {"id": 1}\n      {"id": 2}\n    ]\n  }\n}',  # a comma lost
        b'{\n  "data": {\n    "apis": [\n      {"id": 1},\n    ]\n  }\n}',  # a comma too many
        b'{\n  "data": {\n    "apis": [\n      {"id": 1},\n      {"id": 2}',  # cut short
        b'{\n  "data": {\n    "apis": [\n      {"id": 1}\n    }\n  }\n}',  # closed by the wrong bracket
        b'{\n  "data": 1\n}\n{"more": 2}',  # content after the document
    ],
)
def test_a_file_not_as_written_is_an_error_never_less_data(tmp_path: Path, broken: bytes) -> None:
    from apiinv.errors import StoreError

    path = tmp_path / "raw.json"
    path.write_bytes(broken)
    with pytest.raises(StoreError, match=r"raw\.json: not valid JSON"):
        read_json(path)


def test_a_value_held_as_its_text_is_written_as_the_value_and_reads_back_parsed(tmp_path: Path) -> None:
    from apiinv.memory import RawJson, as_raw_json, parsed

    spec = {"openapi": "3.0.3", "paths": {"/a": {"get": {"responses": {"200": {"description": "é"}}}}}}
    held = as_raw_json(spec)
    assert isinstance(held, RawJson) and held == spec and parsed(held) == spec and parsed(spec) is spec
    assert as_raw_json({"name": "a\ud800b"}) == {"name": "a\ud800b"}  # not JSON text: kept as it is
    assert len(held.text) == len(orjson.dumps(spec))
    document = {"data": {"apis": [{"id": 1, "spec": held}, {"id": 2, "spec": None}]}}
    path = write_json(tmp_path / "raw.json", document)
    written = orjson.loads(path.read_bytes())
    assert written == {"data": {"apis": [{"id": 1, "spec": spec}, {"id": 2, "spec": None}]}}
    assert b'"spec":{"openapi":"3.0.3"' in path.read_bytes()  # within its item's one line
