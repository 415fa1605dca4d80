"""One change, one commit: a case saved with its events (and its audit entry) lands whole or not
at all, on every backend; a TinyDB change cut short is finished by the next open or write."""
from __future__ import annotations

import pytest

from storage import BACKENDS, open_audit, open_repository
from storage.atomic_json import AtomicJSONStorage
from storage.audit import AuditLog, PendingEntry
from storage.journal import Journal
from storage import tinydb_store
from storage.tinydb_store import TinyDBRepository


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an Exception, so nothing catches it)."""


@pytest.fixture(params=sorted(BACKENDS))
def backend(request) -> str:
    return request.param


@pytest.fixture
def where(backend, tmp_path, request):
    """The store's location: a folder, or for PostgreSQL a new empty database's URL."""
    return request.getfixturevalue("pg_url") if backend == "postgres" else tmp_path


def _entry(data_dir, action="case_write") -> PendingEntry:
    return PendingEntry(open_audit(data_dir), "u1", action, {"detail": "received"})


def _writes(data_dir, case_id) -> int:
    return sum(1 for e in open_audit(data_dir).entries() if e["action"] == "case_write" and e.get("case_id") == case_id)


def test_a_case_and_its_events_are_saved_as_one_change(backend, where):
    with open_repository(where, backend) as repo:
        stored = repo.save_case_with_events({"name": "架空 一郎"}, [{"type": "received"}, {"type": "decided"}],
                                            audit=_entry(where))
        assert stored["revision"] == 1
        moved = repo.save_case_with_events({**stored, "status": "assessment"}, [{"type": "status_changed"}],
                                           expected_revision=1, audit=_entry(where))
        assert [(e["seq"], e["type"]) for e in repo.events(stored["id"])] == \
            [(1, "received"), (2, "decided"), (3, "status_changed")]
        assert moved["revision"] == 2 and repo.get_case(stored["id"])["status"] == "assessment"
        # A stale revision stores neither the case nor the event.
        with pytest.raises(Exception, match="他の職員が先に保存しました"):
            repo.save_case_with_events({**stored, "status": "closed"}, [{"type": "status_changed"}], expected_revision=1)
        assert len(repo.events(stored["id"])) == 3 and repo.get_case(stored["id"])["status"] == "assessment"
        assert _writes(where, stored["id"]) == 2
        assert open_audit(where).verify().ok


def test_on_postgresql_a_change_cut_short_leaves_nothing(pg_url, monkeypatch):
    """One transaction: killed at the audit entry (the last write), neither the case, its events nor
    the entry is there; the next change numbers its events and the chain as if nothing happened."""
    from storage.pg_audit import PgAuditLog
    with open_repository(pg_url) as repo:
        first = repo.save_case_with_events({"name": "架空"}, [{"type": "received"}], audit=_entry(pg_url))
        monkeypatch.setattr(PgAuditLog, "append", _killed)
        with pytest.raises(Killed):
            repo.save_case_with_events({**first, "status": "assessment"}, [{"type": "status_changed"}],
                                       expected_revision=1, audit=_entry(pg_url))
        with pytest.raises(Killed):
            repo.save_case_with_events({"name": "架空 二郎"}, [{"type": "received"}], audit=_entry(pg_url))
        monkeypatch.undo()
        assert [c["id"] for c in repo.list_cases()] == [first["id"]]
        assert repo.get_case(first["id"])["revision"] == 1
        assert [e["type"] for e in repo.events(first["id"])] == ["received"]
        assert [e["seq"] for e in open_audit(pg_url).entries()] == [1]
        repo.save_case_with_events({**first, "status": "assessment"}, [{"type": "status_changed"}],
                                   expected_revision=1, audit=_entry(pg_url))
        assert [(e["seq"], e["type"]) for e in repo.events(first["id"])] == [(1, "received"), (2, "status_changed")]
        assert _writes(pg_url, first["id"]) == 2 and open_audit(pg_url).verify().ok


def _killed(*args, **kwargs):
    raise Killed


def _cut_after(monkeypatch, writes: int) -> None:
    """Let ``writes`` file replacements through, then 'kill' the process."""
    real = AtomicJSONStorage.write
    left = [writes]

    def write(self, data):
        if left[0] == 0:
            raise Killed
        left[0] -= 1
        real(self, data)
    monkeypatch.setattr(AtomicJSONStorage, "write", write)


@pytest.mark.parametrize("cut", ["before_any_file", "after_the_events", "after_the_case", "after_the_audit"])
def test_a_change_cut_short_is_finished_by_the_next_open(tmp_path, monkeypatch, cut):
    with open_repository(tmp_path) as repo:
        first = repo.save_case_with_events({"name": "架空"}, [{"type": "received"}], audit=_entry(tmp_path))
    repo = TinyDBRepository(tmp_path)
    if cut == "after_the_audit":
        monkeypatch.setattr(Journal, "clear", _killed)
    elif cut == "after_the_case":
        monkeypatch.setattr(tinydb_store, "append_pending", _killed)
    else:
        _cut_after(monkeypatch, {"before_any_file": 0, "after_the_events": 1}[cut])
    with pytest.raises(Killed):
        repo.save_case_with_events({**first, "status": "assessment"}, [{"type": "status_changed"}],
                                   expected_revision=1, audit=_entry(tmp_path))
    monkeypatch.undo()
    assert Journal(tmp_path).pending() is not None
    with open_repository(tmp_path) as again:          # in another process this is the next open
        case = again.get_case(first["id"])
        assert (case["revision"], case["status"]) == (2, "assessment")
        assert [e["type"] for e in again.events(first["id"])] == ["received", "status_changed"]
    assert Journal(tmp_path).pending() is None
    assert _writes(tmp_path, first["id"]) == 2           # the audit entry once, never twice
    assert AuditLog(tmp_path).verify().ok
    repo.close()


def test_a_change_left_in_the_journal_is_finished_before_the_next_write(tmp_path, monkeypatch):
    with open_repository(tmp_path) as repo, open_repository(tmp_path) as other:
        first = repo.save_case_with_events({"name": "架空"}, [{"type": "received"}])
        _cut_after(monkeypatch, 1)
        with pytest.raises(Killed):
            repo.save_case_with_events({**first, "status": "assessment"}, [{"type": "status_changed"}],
                                       expected_revision=1)
        monkeypatch.undo()
        # Another open store (another process) writes next: the change is finished first,
        # so its event keeps seq 2 and the new one gets 3.
        other.add_event(first["id"], {"type": "note"})
        assert [(e["seq"], e["type"]) for e in other.events(first["id"])] == \
            [(1, "received"), (2, "status_changed"), (3, "note")]
        assert other.get_case(first["id"])["revision"] == 2


def test_a_reader_never_sees_a_case_without_its_intake_events(tmp_path, monkeypatch):
    with open_repository(tmp_path) as repo, open_repository(tmp_path) as reader:
        _cut_after(monkeypatch, 1)                    # the events are written, the case is not
        with pytest.raises(Killed):
            repo.save_case_with_events({"name": "架空"}, [{"type": "received"}, {"type": "decided"}])
        monkeypatch.undo()
        assert reader.list_cases() == []
    with open_repository(tmp_path) as again:
        (case,) = again.list_cases()
        assert [e["type"] for e in again.events(case["id"])] == ["received", "decided"]


def _publishes(data_dir) -> list[dict]:
    return [e for e in AuditLog(data_dir).entries() if e["action"] == "config_publish"]


@pytest.mark.parametrize("cut", ["before_the_value", "after_the_value", "after_the_audit"])
def test_a_publish_cut_short_is_finished_with_its_audit_entry_by_the_next_open(tmp_path, monkeypatch, cut):
    """The live pointer and the entry saying who switched it land together (TinyDB: the journal)."""
    entry = PendingEntry(AuditLog(tmp_path), "u1", "config_publish", {"version": "v002"})
    repo = TinyDBRepository(tmp_path)
    repo.set_meta("config_live", {"live": "v001"})
    if cut == "after_the_audit":
        monkeypatch.setattr(Journal, "clear", _killed)
    elif cut == "after_the_value":
        monkeypatch.setattr(tinydb_store, "append_pending", _killed)
    else:
        _cut_after(monkeypatch, 0)
    with pytest.raises(Killed):
        repo.set_meta("config_live", {"live": "v002"}, expected={"live": "v001"}, audit=entry)
    monkeypatch.undo()
    with open_repository(tmp_path) as again:
        assert again.get_meta("config_live") == {"live": "v002"}
    assert [(e["actor"], e["version"]) for e in _publishes(tmp_path)] == [("u1", "v002")]    # once, never twice
    assert Journal(tmp_path).pending() is None and AuditLog(tmp_path).verify().ok
    repo.close()


def test_sqlite_keeps_a_changes_audit_entry_in_its_transaction_until_it_is_in_the_log(tmp_path, monkeypatch):
    from storage import sqlite_store
    from storage.sqlite_store import SQLiteRepository
    repo = SQLiteRepository(tmp_path)
    monkeypatch.setattr(sqlite_store, "append_pending", _killed)       # killed after the commit
    with pytest.raises(Killed):
        repo.set_meta("config_live", {"live": "v002"}, audit=PendingEntry(AuditLog(tmp_path), "u1", "config_publish",
                                                                         {"version": "v002"}))
    with pytest.raises(Killed):
        repo.save_case_with_events({"name": "架空"}, [{"type": "received"}], audit=_entry(tmp_path))
    monkeypatch.undo()
    repo.close()
    assert _publishes(tmp_path) == []
    for _ in range(2):                                  # the next open appends each entry; a later one adds nothing
        with open_repository(tmp_path, "sqlite") as again:
            (case,) = again.list_cases()
            assert again.get_meta("config_live") == {"live": "v002"}
    assert [e["version"] for e in _publishes(tmp_path)] == ["v002"] and _writes(tmp_path, case["id"]) == 1
    assert AuditLog(tmp_path).verify().ok



def test_on_postgresql_a_publish_and_its_audit_entry_are_one_transaction(pg_url, monkeypatch):
    from storage.pg_audit import PgAuditLog
    with open_repository(pg_url) as repo:
        repo.set_meta("config_live", {"live": "v001"})
        entry = PendingEntry(open_audit(pg_url), "u1", "config_publish", {"version": "v002"})
        monkeypatch.setattr(PgAuditLog, "append", _killed)
        with pytest.raises(Killed):
            repo.set_meta("config_live", {"live": "v002"}, expected={"live": "v001"}, audit=entry)
        monkeypatch.undo()
        assert repo.get_meta("config_live") == {"live": "v001"} and list(open_audit(pg_url).entries()) == []
        repo.set_meta("config_live", {"live": "v002"}, expected={"live": "v001"}, audit=entry)
        assert repo.get_meta("config_live") == {"live": "v002"}
        assert [(e["actor"], e["action"], e["version"]) for e in open_audit(pg_url).entries()] == \
            [("u1", "config_publish", "v002")]


# -- bulk writes (demo data): the cases, their events and the audit entries are one change too --
def _bulk_entries(data_dir) -> list[PendingEntry]:
    log = open_audit(data_dir)
    return [PendingEntry(log, "u1", "case_write_bulk", {"count": 3}), PendingEntry(log, "u1", "event_add_bulk", {"count": 4})]


def _bulk(repo, data_dir):
    """Three new cases (ids given, as the demo gives them) with their events, and a note on one already stored."""
    old = repo.save_case({"name": "架空 既存"})
    cases = [{"id": f"C20261130-00000{i}", "name": f"架空 {i}"} for i in range(3)]
    events = [(cases[0]["id"], {"type": "received"}), (cases[0]["id"], {"type": "decided"}),
              (cases[2]["id"], {"type": "received"}), (old["id"], {"type": "note"})]
    return old, cases, events


def _bulk_actions(data_dir) -> list[tuple[str, int]]:
    return [(e["action"], e["count"]) for e in open_audit(data_dir).entries() if e["action"].endswith("_bulk")]


def test_a_bulk_write_is_one_change_on_every_backend(backend, where):
    with open_repository(where, backend) as repo:
        old, cases, events = _bulk(repo, where)
        stored = repo.save_cases_bulk(cases, events, audit=_bulk_entries(where))
        assert [c["id"] for c in stored] == [c["id"] for c in cases] and {c["revision"] for c in stored} == {1}
        assert [(e["seq"], e["type"]) for e in repo.events(cases[0]["id"])] == [(1, "received"), (2, "decided")]
        assert [e["type"] for e in repo.events(old["id"])] == ["note"] and repo.events(cases[1]["id"]) == []
        assert _bulk_actions(where) == [("case_write_bulk", 3), ("event_add_bulk", 4)]
        # An event for a case that does not exist refuses the whole call: no case, no event, no entry.
        with pytest.raises(Exception, match="NOSUCH"):
            repo.save_cases_bulk([{"id": "C20261130-00000x", "name": "架空 x"}], [("NOSUCH", {"type": "received"})],
                                 audit=_bulk_entries(where))
        assert repo.get_case("C20261130-00000x") is None and repo.count_cases() == 4
        with pytest.raises(Exception, match="NOSUCH"):
            repo.add_events_bulk([(old["id"], {"type": "note"}), ("NOSUCH", {"type": "note"})], audit=_bulk_entries(where))
        assert [e["type"] for e in repo.events(old["id"])] == ["note"]
        assert _bulk_actions(where) == [("case_write_bulk", 3), ("event_add_bulk", 4)]
        assert open_audit(where).verify().ok


@pytest.mark.parametrize("cut", ["before_any_file", "after_one_shard", "after_the_cases", "after_one_entry",
                                 "after_the_audit"])
def test_a_bulk_write_cut_short_is_finished_by_the_next_open(tmp_path, monkeypatch, cut):
    repo = TinyDBRepository(tmp_path, shards=4)
    old, cases, events = _bulk(repo, tmp_path)
    if cut == "after_the_audit":
        monkeypatch.setattr(Journal, "clear", _killed)
    elif cut == "after_the_cases":
        monkeypatch.setattr(tinydb_store, "append_pending", _killed)
    elif cut == "after_one_entry":
        real, left = tinydb_store.append_pending, [1]

        def one_then_killed(*args):
            if not left[0]:
                raise Killed
            left[0] -= 1
            real(*args)
        monkeypatch.setattr(tinydb_store, "append_pending", one_then_killed)
    else:
        _cut_after(monkeypatch, {"before_any_file": 0, "after_one_shard": 2}[cut])
    with pytest.raises(Killed):
        repo.save_cases_bulk(cases, events, audit=_bulk_entries(tmp_path))
    monkeypatch.undo()
    assert Journal(tmp_path).pending() is not None
    with open_repository(tmp_path) as again:          # in another process this is the next open
        assert sorted(c["id"] for c in again.list_cases()) == sorted([old["id"], *(c["id"] for c in cases)])
        assert [e["type"] for e in again.events(cases[0]["id"])] == ["received", "decided"]
        assert [e["type"] for e in again.events(cases[2]["id"])] == ["received"]
        assert [e["type"] for e in again.events(old["id"])] == ["note"]
    assert Journal(tmp_path).pending() is None
    assert _bulk_actions(tmp_path) == [("case_write_bulk", 3), ("event_add_bulk", 4)]   # each once, in order
    assert AuditLog(tmp_path).verify().ok
    repo.close()


def test_sqlite_keeps_a_bulk_writes_audit_entries_until_they_are_in_the_log(tmp_path, monkeypatch):
    from storage import sqlite_store
    from storage.sqlite_store import SQLiteRepository
    repo = SQLiteRepository(tmp_path)
    old, cases, events = _bulk(repo, tmp_path)
    monkeypatch.setattr(sqlite_store, "append_pending", _killed)       # killed after the commit
    with pytest.raises(Killed):
        repo.save_cases_bulk(cases, events, audit=_bulk_entries(tmp_path))
    monkeypatch.undo()
    repo.close()
    assert _bulk_actions(tmp_path) == []
    for _ in range(2):
        with open_repository(tmp_path, "sqlite") as again:
            assert again.count_cases() == 4 and len(again.events(cases[0]["id"])) == 2
    assert _bulk_actions(tmp_path) == [("case_write_bulk", 3), ("event_add_bulk", 4)]
    assert AuditLog(tmp_path).verify().ok


def test_on_postgresql_a_bulk_write_cut_at_its_audit_entry_leaves_nothing(pg_url, monkeypatch):
    from storage.pg_audit import PgAuditLog
    with open_repository(pg_url) as repo:
        old, cases, events = _bulk(repo, pg_url)
        real, left = PgAuditLog.append, [1]

        def one_then_killed(self, *args, **kwargs):
            if not left[0]:
                raise Killed
            left[0] -= 1
            return real(self, *args, **kwargs)
        monkeypatch.setattr(PgAuditLog, "append", one_then_killed)
        with pytest.raises(Killed):
            repo.save_cases_bulk(cases, events, audit=_bulk_entries(pg_url))
        monkeypatch.undo()
        assert [c["id"] for c in repo.list_cases()] == [old["id"]] and repo.events(old["id"]) == []
        assert _bulk_actions(pg_url) == [] and open_audit(pg_url).verify().ok


def test_demo_data_cut_short_is_all_there_after_the_next_open(tmp_path, monkeypatch):
    """The demo's cases and their events are one change: killed after its first file, the next
    open stores every demo case with its events, as if nothing happened."""
    from engine.casework.demo import mark_store, save_demo
    from engine.pack import load_pack
    pack = load_pack()
    repo = TinyDBRepository(tmp_path, shards=4)
    mark_store(repo, "demo")
    _cut_after(monkeypatch, 1)
    with pytest.raises(Killed):
        save_demo(repo, pack, 12)
    monkeypatch.undo()
    repo.close()
    with open_repository(tmp_path) as again:
        cases = again.list_cases()
        assert len(cases) == 12
        for case in cases:
            assert [e["type"] for e in again.events(case["id"])][:2] == ["received", "decided"]
