"""The case list's index (storage/list_index.py): after a restart the list reads each shard's
index instead of the shard, and shows, filters, counts and masks exactly as from the cases.

A store opened afresh has no shard in memory, so its case list is made from the indexes; the same
store after ``warm_up`` has every shard in memory, so its list is made from the cases. Both must
give the same page, the same rows as staff read them and the same counts, for every kind of user,
every query and every 期限 / 自分 filter, over cases as real use leaves them (odd old records too).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random

import pytest

from engine.casework.access import Access, ScopedRepository
from engine.casework.caselist import CaseQuery, row_view
from engine.casework.duties import DutyFilter, due_columns
from engine.pack import load_pack
from storage import list_index, open_repository, warm_up, warm_up_later
from tests.test_pg_queries import DUTIES, QUERIES, USERS, odd_records

PACK = load_pack()
TODAY = dt.date(2026, 6, 2)


def odder_records() -> list[dict]:
    """Parts of the wrong type where the list reads them: kept as they are by the projection."""
    return [{"id": "C-odd1", "intake": "手書きのメモ", "referrals": "なし", "confirmed": ["x"], "owner": "a"},
            {"id": "C-odd2", "intake": {"received_on": "2026-05-01", "person": "架空 太郎", "household": ["子"]},
             "decision": "未判定", "referrals": ["壊れた", {"state": "pending", "due": "2026-05-01", "agency": "houkatsu_a"}],
             "created_by": "staff_a"},
            {"id": "C-odd3", "status": "received", "intake": {"received_on": "2026-05-02", "area": "area1",
                                                               "person": {"name": "架空 次郎", "kana": "カクウ ジロウ"}},
             "decision": {"priority": "urgent", "meetings": ["shien_kaigi"], "agencies": [{"id": "csw_area1"}, 3]},
             "owner": {"agency": "csw_area1", "worker": None}}]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    where = tmp_path_factory.mktemp("indexed")
    with open_repository(where) as repo:
        repo.save_cases_bulk(odd_records(random.Random(11)) + odder_records())
    return where


def shown(pack, page) -> list[dict]:
    """The page as staff read it: the list's columns, and where it sits."""
    return [page.total, page.page, page.pages] + [{**row_view(pack, c), **due_columns(pack, c, TODAY)} for c in page.rows]


def answers(repo) -> list:
    out = []
    for user in USERS:
        scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
        out.append(scoped.counts())
        for query in QUERIES + [CaseQuery(text="架空"), CaseQuery(agencies=("csw_area1",))]:
            out.append(shown(PACK, scoped.case_page(query)))
        for duty in DUTIES:
            out.append(shown(PACK, scoped.case_page(CaseQuery(per_page=500), DutyFilter(TODAY, **duty))))
    return out


def parsed_shards(repo) -> int:
    return sum(storage.peek()[0] is not None for storage in repo._cases)


def test_the_list_from_the_indexes_equals_the_list_from_the_cases(folder):
    with open_repository(folder) as repo:
        from_index = answers(repo)
        assert parsed_shards(repo) == 0, "the list parsed shards although every index was there"
    with open_repository(folder) as repo:
        warm_up(repo)
        assert parsed_shards(repo) > 0
        from_cases = answers(repo)
    assert from_index == from_cases
    assert sum(len(a) > 3 for a in from_cases if isinstance(a, list)) > 20, "the queries found next to nothing"


def test_a_save_rewrites_its_shards_index_and_a_new_process_lists_it(tmp_path):
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk(odd_records(random.Random(3))[:60])
        case = dict(repo.get_case("C20260007"))
        case["status"] = "closed"
        repo.save_case(case)
    with open_repository(tmp_path) as repo:
        admin = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
        page = admin.case_page(CaseQuery(statuses=("closed",), per_page=500))
        assert "C20260007" in [c["id"] for c in page.rows]
        assert admin.counts() == (60, 0)
        assert parsed_shards(repo) == 0


def test_an_index_the_shard_moved_on_from_is_not_read(tmp_path, monkeypatch):
    """A crash between the shard and its index (here: the index cannot be written) leaves an index
    of the shard's old version: it is ignored, and the shard is read."""
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk(odd_records(random.Random(3))[:40])
        case = dict(repo.get_case("C20260005"))
        monkeypatch.setattr(list_index, "write", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
        case["status"] = "closed"
        repo.save_case(case)                      # saved although its index could not be written
        monkeypatch.undo()
    with open_repository(tmp_path) as repo:
        admin = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
        page = admin.case_page(CaseQuery(statuses=("closed",), per_page=500))
        assert "C20260005" in [c["id"] for c in page.rows]
        assert parsed_shards(repo) == 1           # that shard alone


@pytest.mark.parametrize("damage", [b"", b"\x00garbage{{", b'{"source": [1], "rows": []}', b"[1, 2]",
                                    b'{"source": null, "rows": [1]}'])
def test_a_broken_or_foreign_index_file_is_ignored(tmp_path, damage):
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk(odd_records(random.Random(3))[:40])
        want = answers(repo)
    for path in (tmp_path / "list").glob("*.json"):
        path.write_bytes(damage)
    with open_repository(tmp_path) as repo:
        assert answers(repo) == want
    # A valid index made from this version, but rows of another shard: its source no longer matches.
    with open_repository(tmp_path) as repo:
        warm_up(repo)
        for index in range(2):
            path = list_index.path_for(repo._cases[index].path)
            if path.exists():
                data = json.loads(path.read_bytes())
                data["source"][2] += 1                # another mtime: another version
                path.write_text(json.dumps(data))
    with open_repository(tmp_path) as repo:
        assert answers(repo) == want


def test_warm_up_writes_the_indexes_a_store_lacks_and_they_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        with open_repository(tmp_path) as repo:
            repo.save_cases_bulk(odd_records(random.Random(3))[:80])
        written = sorted(p.name for p in (tmp_path / "list").glob("*.json"))
        for path in (tmp_path / "list").glob("*.json"):
            path.unlink()                          # a store from before the index
        with open_repository(tmp_path) as repo:
            assert warm_up(repo) == 80
        assert sorted(p.name for p in (tmp_path / "list").glob("*.json")) == written
        assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "list").iterdir())
        assert (tmp_path / "list").stat().st_mode & 0o077 == 0
        with open_repository(tmp_path) as repo:
            ScopedRepository(repo, PACK, Access.of(PACK, USERS[0])).case_page(CaseQuery())
            assert parsed_shards(repo) == 0
    finally:
        os.umask(old)


def test_the_warm_up_in_the_background_reads_every_shard_while_pages_read(folder):
    with open_repository(folder) as repo:
        want = answers(repo)
        thread = warm_up_later(repo)
        during = answers(repo)
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert parsed_shards(repo) == sum(1 for s in repo._cases if s.path.exists())
        assert repo._indexed == {}, "index rows kept after their shards were read"
        assert during == want == answers(repo)


def test_projection_keeps_no_more_than_the_list_reads():
    case = {"id": "C1", "status": "received", "revision": 3, "config_version": "v1",
            "intake": {"received_on": "2026-04-01", "summary": "長い相談の記録", "phone": "000-0000-0000",
                       "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "birth": "1950-01-01", "consent": "yes"},
                       "household": [{"relation": "child", "name": "架空 一郎", "concerns": ["debt"], "consent": "no"}]},
            "decision": {"priority": "high", "programs": [{"id": "p", "name": "P"}], "trace": [{"rule": "r1"}]},
            "referrals": [{"id": "R1", "agency": "a", "state": "pending", "due": "2026-04-08", "note": "電話済み"}]}
    kept = json.dumps(list_index.project(case), ensure_ascii=False)
    for secret in ("長い相談の記録", "000-0000-0000", "1950-01-01", "架空 一郎", "r1", "電話済み"):
        assert secret not in kept
    assert list_index.project(case)["decision"] == {"priority": "high", "programs": ["p"]}


def test_a_rerun_of_the_list_checks_no_access_again_and_a_save_only_its_shards(tmp_path, monkeypatch):
    from engine.casework import access
    checked = []
    real = access.can_view
    monkeypatch.setattr(access, "can_view", lambda pack, acc, case: checked.append(case.get("id")) or real(pack, acc, case))
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk(odd_records(random.Random(3))[:120])
        staff = ScopedRepository(repo, PACK, Access.of(PACK, USERS[1]))
        first = shown(PACK, staff.case_page(CaseQuery(per_page=500))), staff.counts()
        assert len(checked) == 120
        checked.clear()
        assert (shown(PACK, staff.case_page(CaseQuery(per_page=500))), staff.counts()) == first
        assert checked == []                      # every shard's answer kept
        case = dict(repo.get_case("C20260007"))
        repo.save_case({**case, "status": "closed"})
        staff.case_page(CaseQuery(per_page=500))
        shard = repo._shard_of("C20260007")
        assert "C20260007" in checked and all(repo._shard_of(c) == shard for c in checked)


def test_an_index_that_cannot_be_rewritten_does_not_keep_what_the_save_removed(tmp_path, monkeypatch):
    """The disk is full when a case is deleted (an erasure request) and when a name is corrected:
    the shard is saved, its index cannot be; the old index, holding the deleted case and the old
    name, is removed rather than left on disk. The list then reads the shard, and the next save
    writes the index again."""
    with open_repository(tmp_path) as repo:
        repo.save_cases_bulk(odd_records(random.Random(3))[:40])
        erased, renamed = "C20260005", "C20260006"
        old_name = repo.get_case(renamed)["intake"]["person"]["name"]
        shards = {repo._shard_of(erased), repo._shard_of(renamed)}
        index_files = {list_index.path_for(repo._cases[n].path) for n in shards}
        assert all(old_name in p.read_text(encoding="utf-8") or erased in p.read_text(encoding="utf-8")
                   for p in index_files)
        monkeypatch.setattr(list_index, "write", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
        assert repo.delete_case(erased)
        case = dict(repo.get_case(renamed))
        case["intake"] = {**case["intake"], "person": {**case["intake"]["person"], "name": "架空 訂正後"}}
        repo.save_case(case)
        monkeypatch.undo()
        left = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "list").glob("*.json"))
        assert erased not in left and old_name not in left
        assert not any(p.exists() for p in index_files)
    with open_repository(tmp_path) as repo:
        admin = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
        ids = [c["id"] for c in admin.case_page(CaseQuery(per_page=500)).rows]
        assert erased not in ids and renamed in ids
        repo.save_case(dict(repo.get_case(renamed)))            # the next save writes the index again
        assert list_index.path_for(repo._cases[repo._shard_of(renamed)].path).exists()
