"""The app's start on a data folder: every shard parsed once, with the cycle collector kept off it."""
from __future__ import annotations

import gc
import threading

import pytest

from storage import open_repository, warm_up
from storage.atomic_json import AtomicJSONStorage
from storage.collector import collection_paused


@pytest.fixture
def unfrozen():
    """Whatever a test freezes goes back to the collector afterwards."""
    yield
    gc.unfreeze()


def test_warm_up_reads_every_case_and_freezes_what_it_parsed(tmp_path, unfrozen):
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk([{"name": f"架空 {n}", "notes": [{"n": n}]} for n in range(300)])
    gc.unfreeze()
    with open_repository(tmp_path) as repo:
        before = gc.get_freeze_count()
        assert warm_up(repo) == 300
        # Every parsed case is a tracked container (its list of notes): all of them are out of
        # the collector's generations now, so a full collection no longer walks them.
        assert gc.get_freeze_count() - before >= 300
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        cases = repo.read_cases(list)
        assert not any(id(case["notes"]) in tracked for case in cases)
        assert gc.isenabled()


def test_the_pause_is_undone_after_an_error_and_only_by_the_last_of_nested_uses():
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with collection_paused():
            assert not gc.isenabled()
            raise ValueError
    assert gc.isenabled()
    with collection_paused():
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()          # the outer block is still parsing
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off():
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_parsing_at_once_leave_the_collector_on(tmp_path):
    files = []
    for n in range(8):
        storage = AtomicJSONStorage(tmp_path / f"{n}.json")
        storage.write({"cases": {str(i): {"id": i, "tags": [i]} for i in range(2_000)}})
        files.append(AtomicJSONStorage(tmp_path / f"{n}.json"))   # a fresh reader: it parses
    errors = []

    def read(storage):
        try:
            for _ in range(5):
                storage.drop_cache()
                assert len(storage.read()["cases"]) == 2_000
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=read, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gc.isenabled()


def test_a_broken_shard_leaves_the_collector_on(tmp_path):
    (tmp_path / "bad.json").write_text("{\"cases\": {", encoding="utf-8")
    with pytest.raises(Exception, match="壊れていて"):
        AtomicJSONStorage(tmp_path / "bad.json").read()
    assert gc.isenabled()


def test_garbage_alive_at_start_up_is_collected_not_frozen(tmp_path, unfrozen):
    import weakref

    class Node:
        pass
    with open_repository(tmp_path) as repo:
        repo.save_case({"name": "架空"})
        node = Node()
        node.me = node                     # a cycle: only the collector can free it
        gone = weakref.ref(node)
        del node
        warm_up(repo)
        assert gone() is None              # frozen with the cases, it would be kept for good
