"""Storage behaviour, run against every backend (like TinyDB's own storage tests)."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ConflictError, StorageError
from storage import BACKENDS, open_repository
from storage.atomic_json import AtomicJSONStorage

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).resolve().parent / "storage_writer.py"


@pytest.fixture(params=sorted(BACKENDS))
def backend(request) -> str:
    return request.param


@pytest.fixture
def data_dir(tmp_path, request) -> Path | str:
    """Where the backend keeps its data: a folder, or for PostgreSQL a new empty database's URL."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgres":
        return request.getfixturevalue("pg_url")
    return tmp_path / "data"


@pytest.fixture
def repo(backend, data_dir):
    repository = open_repository(data_dir, backend)
    yield repository
    repository.close()


def consultation(name: str = "山田 花子") -> dict:
    return {
        "name": name,
        "kana": "ヤマダ ハナコ",
        "memo": "母（82歳）の介護と長男のひきこもり。8050問題として重層的支援会議へ。",
        "household": [{"続柄": "母", "年齢": 82}, {"続柄": "長男", "年齢": 51}],
        "flags": {"緊急": False},
    }


def start_writer(data_dir: Path, backend: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(data_dir), backend, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", cwd=ROOT)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def kill_writer(proc: subprocess.Popen, acknowledged: dict[str, int], timeout: float) -> None:
    """SIGKILL a writer and add what it acknowledged (case id → highest revision) to ``acknowledged``."""
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == -signal.SIGKILL, f"writer died on its own: {err}"
    for line in out.splitlines(keepends=True):
        if line.endswith("\n"):  # a line cut by the kill was never acknowledged
            case_id, revision = line.split()
            acknowledged[case_id] = max(acknowledged.get(case_id, 0), int(revision))


# -- round trip ----------------------------------------------------------------
def test_japanese_case_round_trips_and_is_stored_as_utf8(backend, data_dir):
    with open_repository(data_dir, backend) as repo:
        saved = repo.save_case(consultation())
        assert repo.get_case(saved["id"]) == saved
        assert {k: saved[k] for k in consultation()} == consultation()
    if backend == "postgres":
        import psycopg
        with psycopg.connect(data_dir) as conn:
            assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
            raw = conn.execute("SELECT body::text FROM cases").fetchone()[0].encode("utf-8")
    else:
        raw = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    assert "ひきこもり".encode("utf-8") in raw
    assert b"\\u" not in raw


def test_new_case_gets_dated_unique_id_revision_and_timestamp(repo):
    ids = {repo.save_case({"name": f"相談者{i}", "id": ""})["id"] for i in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"C\d{8}-[0-9a-f]{6}", case_id) for case_id in ids)
    case = repo.get_case(next(iter(ids)))
    assert case["revision"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", case["updated_at"])


def test_list_count_and_delete(repo):
    saved = [repo.save_case({"id": f"X{i:03d}", "name": "佐藤"}) for i in (5, 1, 3)]
    repo.add_event("X003", {"type": "受付"})
    assert [c["id"] for c in repo.list_cases()] == ["X001", "X003", "X005"]
    assert repo.count_cases() == 3
    assert repo.delete_case("X003") is True
    assert repo.delete_case("X003") is False
    assert repo.get_case("X003") is None
    assert repo.events("X003") == []
    assert repo.count_cases() == 2
    assert repo.get_case("X001") == saved[1]


def test_bulk_save_stores_every_case_and_bumps_existing(repo):
    first = repo.save_case({"id": "K1", "name": "既存"})
    stored = repo.save_cases_bulk([{"name": f"デモ{i}"} for i in range(300)] + [{"id": "K1", "name": "更新"}])
    assert repo.count_cases() == 301
    assert len({c["id"] for c in stored}) == 301
    assert repo.get_case("K1")["revision"] == first["revision"] + 1
    assert repo.get_case("K1")["name"] == "更新"


def test_bulk_save_writes_each_tinydb_shard_once(data_dir, monkeypatch):
    repo = open_repository(data_dir, "tinydb")
    writes: list[Path] = []
    original = AtomicJSONStorage.write

    def counting(self, data):
        writes.append(self.path)
        original(self, data)

    monkeypatch.setattr(AtomicJSONStorage, "write", counting)
    repo.save_cases_bulk([{"name": f"デモ{i}"} for i in range(2000)])
    repo.close()
    assert len(writes) == len(set(writes)) <= repo.shards


def test_unknown_backend_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(StorageError, match="もしかして: sqlite"):
        open_repository(tmp_path, "sqlit")


# Any text but NUL, any finite number: what JSON (and PostgreSQL's JSONB) can hold.
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.dictionaries(text, json_values, max_size=6))
def test_any_json_content_round_trips(repo, content):
    saved = repo.save_case({**content, "id": ""})
    expected = {**content, "id": saved["id"], "revision": 1, "updated_at": saved["updated_at"]}
    assert saved == expected
    assert repo.get_case(saved["id"]) == expected


class _Key(str):
    pass


# What a caller may hand in beside plain JSON: tuples, subclasses, and values that must be refused.
odd_values = st.recursive(
    json_values | st.sampled_from([(1, "二"), _Key("k"), True, 2**70, "途中で\ud800切れた", "NUL\x00", float("inf"),
                                    float("nan"), b"bytes", {1: "int key"}, {"a\x00": 1}, {_Key("sub"): [1]}]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner) | st.dictionaries(text, inner, max_size=3),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(value=odd_values)
def test_the_quick_copy_takes_and_refuses_exactly_what_the_careful_one_does(value):
    """records.json_copy copies plain records without building key paths; anything else goes the
    careful way (records._checked_copy): same copy, or the same refusal naming the same key."""
    from storage import records

    def outcome(copy):
        try:
            return "copied", copy(value, "case")
        except StorageError as err:
            return "refused", str(err)
    fast, careful = outcome(records.json_copy), outcome(records._checked_copy)
    assert fast == careful
    assert repr(fast) == repr(careful)          # also the types: tuples became lists in both


def test_broken_text_is_refused_before_anything_is_written(repo):
    with pytest.raises(StorageError, match="memo"):
        repo.save_case({"id": "U1", "memo": "途中で\ud800切れた"})
    with pytest.raises(StorageError, match="NUL"):
        repo.save_case({"id": "U1", "intake": {"summary": "NUL\x00入り"}})
    with pytest.raises(StorageError, match="score"):
        repo.save_case({"id": "U1", "score": float("inf")})
    assert repo.count_cases() == 0


# -- revisions and conflicts -------------------------------------------------------
def test_second_staff_saving_an_old_revision_is_refused(repo):
    case_id = repo.save_case(consultation())["id"]
    staff_a, staff_b = repo.get_case(case_id), repo.get_case(case_id)
    staff_a["memo"] = "Aさんの記録"
    staff_b["memo"] = "Bさんの記録"
    assert repo.save_case(staff_a, expected_revision=staff_a["revision"])["revision"] == 2
    with pytest.raises(ConflictError) as refused:
        repo.save_case(staff_b, expected_revision=staff_b["revision"])
    assert "あなたが開いた版: 1、現在の版: 2" in str(refused.value)
    assert "開き直して" in str(refused.value)
    stored = repo.get_case(case_id)
    assert (stored["memo"], stored["revision"]) == ("Aさんの記録", 2)


def test_expected_revision_for_a_missing_case(repo):
    with pytest.raises(ConflictError, match="見つかりません"):
        repo.save_case({"id": "GONE", "name": "x"}, expected_revision=3)
    assert repo.get_case("GONE") is None
    assert repo.save_case({"id": "NEW", "name": "x"}, expected_revision=0)["revision"] == 1
    with pytest.raises(ConflictError):
        repo.save_case({"id": "NEW", "name": "y"}, expected_revision=0)


def test_unstorable_values_are_refused_naming_the_key(repo):
    with pytest.raises(StorageError, match="household"):
        repo.save_case({"id": "B1", "household": {"母": object()}})
    assert repo.get_case("B1") is None


# -- events, versions, meta ---------------------------------------------------------
def test_bulk_events_continue_each_case_history(repo):
    a = repo.save_case({"name": "A"})["id"]
    b = repo.save_case({"name": "B"})["id"]
    repo.add_event(a, {"type": "受付"})
    assert repo.add_events_bulk([(a, {"type": "振り分け"}), (b, {"type": "受付"}), (a, {"type": "会議"})]) == 3
    assert [(e["seq"], e["type"]) for e in repo.events(a)] == [(1, "受付"), (2, "振り分け"), (3, "会議")]
    assert [(e["seq"], e["type"]) for e in repo.events(b)] == [(1, "受付")]
    with pytest.raises(StorageError, match="先にケースを保存"):
        repo.add_events_bulk([(a, {"type": "x"}), ("NOSUCH", {"type": "受付"})])
    assert len(repo.events(a)) == 3


def test_events_get_per_case_sequence_numbers(repo):
    a = repo.save_case({"name": "A"})["id"]
    b = repo.save_case({"name": "B"})["id"]
    for kind in ("受付", "面談", "会議"):
        repo.add_event(a, {"type": kind})
    repo.add_event(b, {"type": "受付", "at": "2026-04-01T09:00:00+09:00"})
    assert [(e["seq"], e["type"], e["case_id"]) for e in repo.events(a)] == [
        (1, "受付", a), (2, "面談", a), (3, "会議", a)]
    assert repo.events(b)[0]["seq"] == 1 and repo.events(b)[0]["at"] == "2026-04-01T09:00:00+09:00"
    with pytest.raises(StorageError, match="type"):
        repo.add_event(a, {"memo": "種類なし"})
    with pytest.raises(StorageError, match="先にケースを保存"):
        repo.add_event("NOSUCH", {"type": "受付"})


def test_versions_are_idempotent_and_keep_saving_order(repo):
    first = repo.save_version({"id": "sha-b", "rules": ["高齢"]})
    again = repo.save_version({"id": "sha-b", "rules": ["ignored"]})
    repo.save_version({"id": "sha-a", "rules": []})
    assert again == first and first["saved_seq"] == 1
    assert [(v["id"], v["saved_seq"]) for v in repo.list_versions()] == [("sha-b", 1), ("sha-a", 2)]
    assert repo.get_version("sha-b")["rules"] == ["高齢"]
    assert repo.get_version("nope") is None


def test_meta_compare_and_set(repo):
    assert repo.get_meta("live_version", "なし") == "なし"
    repo.set_meta("live_version", "sha-a", expected=None)
    repo.set_meta("live_version", "sha-b", expected="sha-a")
    with pytest.raises(ConflictError, match="sha-c"):
        repo.set_meta("live_version", "sha-x", expected="sha-c")
    assert repo.get_meta("live_version") == "sha-b"
    repo.set_meta("live_version", "sha-z")
    assert repo.get_meta("live_version") == "sha-z"


# -- copies ---------------------------------------------------------------------------
def test_returned_and_given_dicts_are_copies(repo):
    given = consultation()
    saved = repo.save_case(given)
    case_id = saved["id"]
    given["household"][0]["年齢"] = 0
    saved["name"] = "変更1"
    repo.get_case(case_id)["household"].append({"続柄": "孫"})
    repo.list_cases()[0]["flags"]["緊急"] = True
    event = repo.add_event(case_id, {"type": "受付", "detail": {"窓口": "福祉課"}})
    event["detail"]["窓口"] = "x"
    repo.events(case_id)[0]["detail"]["窓口"] = "y"
    repo.save_version({"id": "v1", "rules": ["a"]})["rules"].append("b")
    repo.get_version("v1")["rules"].append("c")
    repo.list_versions()[0]["rules"].append("d")
    repo.set_meta("tags", ["a"])
    repo.get_meta("tags").append("b")

    stored = repo.get_case(case_id)
    assert {k: stored[k] for k in consultation()} == consultation()
    assert repo.events(case_id)[0]["detail"] == {"窓口": "福祉課"}
    assert repo.get_version("v1")["rules"] == ["a"]
    assert repo.get_meta("tags") == ["a"]


def test_a_second_repository_on_the_same_directory_sees_changes(backend, data_dir):
    with open_repository(data_dir, backend) as one, open_repository(data_dir, backend) as two:
        case_id = one.save_case({"name": "一"})["id"]
        assert two.get_case(case_id)["name"] == "一"
        two.save_case({"id": case_id, "name": "二"}, expected_revision=1)
        assert one.get_case(case_id)["name"] == "二"
        with pytest.raises(ConflictError):
            one.save_case({"id": case_id, "name": "古い"}, expected_revision=1)


def test_closed_repository_refuses_work(backend, data_dir):
    repo = open_repository(data_dir, backend)
    repo.close()
    repo.close()
    with pytest.raises(StorageError, match="閉じられています"):
        repo.get_case("X")


# -- threads and processes -----------------------------------------------------------
def run_threads(count: int, work) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_eight_threads_saving_distinct_cases(repo):
    run_threads(8, lambda n: [repo.save_case({"id": f"T{n}-{i:02d}", "職員": n}) for i in range(50)])
    cases = repo.list_cases()
    assert len(cases) == repo.count_cases() == 400
    assert {c["id"] for c in cases} == {f"T{n}-{i:02d}" for n in range(8) for i in range(50)}
    assert all(c["revision"] == 1 and c["職員"] == int(c["id"][1]) for c in cases)


def test_eight_threads_adding_events_to_one_case(repo):
    case_id = repo.save_case({"name": "共有"})["id"]
    run_threads(8, lambda n: [repo.add_event(case_id, {"type": "記録", "職員": n}) for _ in range(25)])
    assert [e["seq"] for e in repo.events(case_id)] == list(range(1, 201))


@pytest.mark.parametrize("mode", ["bump", "events"])
def test_two_processes_writing_one_case_lose_nothing(backend, data_dir, mode):
    with open_repository(data_dir, backend) as repo:
        case_id = repo.save_case({"name": "取り合い"})["id"]
    writers = [start_writer(data_dir, backend, mode, case_id, "40") for _ in range(2)]
    for proc in writers:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in writers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    with open_repository(data_dir, backend) as repo:
        if mode == "bump":
            assert repo.get_case(case_id)["revision"] == 81
        else:
            assert [e["seq"] for e in repo.events(case_id)] == list(range(1, 81))


def test_killed_writer_never_loses_an_acknowledged_save(backend, data_dir):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    acknowledged: dict[str, int] = {}
    for round_no in range(20):
        proc = start_writer(data_dir, backend, "cases")
        # The only sleep in these tests: it picks the moment of the kill.
        time.sleep(rng.uniform(0.010, 0.150))
        kill_writer(proc, acknowledged, timeout=30)
        with open_repository(data_dir, backend) as repo:
            cases = {c["id"]: c for c in repo.list_cases()}
            lost = [i for i, rev in acknowledged.items() if i not in cases or cases[i]["revision"] < rev]
            assert lost == [], f"round {round_no}, seed {seed}: acknowledged saves lost: {lost[:5]}"
            assert all(c["name"].startswith("相談者") for c in cases.values())
        if backend != "postgres":
            assert not list(data_dir.rglob(".*.tmp")), "leftover temp files not cleaned on open"
    assert len(acknowledged) >= 20, "the writer hardly wrote anything; the test proved nothing"


# -- damaged files --------------------------------------------------------------------------
def file_holding(data_dir: Path, case_id: str) -> Path:
    """The one data file whose bytes contain the case id (sqlite: its WAL and shm files are removed;
    TinyDB: not the case list's index, a cache of the shard, list/NN.json)."""
    for extra in data_dir.glob("tsunagu.sqlite3-*"):
        extra.unlink()
    holders = [p for p in data_dir.rglob("*") if p.is_file() and p.parent.name != "list"
               and case_id.encode() in p.read_bytes()]
    assert len(holders) == 1, holders
    return holders[0]


@pytest.mark.parametrize("backend", ["sqlite", "tinydb"])
def test_corrupted_file_raises_an_error_naming_it(backend, data_dir):
    with open_repository(data_dir, backend) as repo:
        case_id = repo.save_case(consultation())["id"]
    victim = file_holding(data_dir, case_id)
    victim.write_bytes(b"\x00garbage{{{" * 200)
    with pytest.raises(StorageError) as broken:
        with open_repository(data_dir, backend) as repo:
            repo.get_case(case_id)
    assert str(victim) in str(broken.value)
    assert "バックアップから復元" in str(broken.value)


def test_tinydb_shard_hand_edited_into_non_json_is_not_read_as_empty(data_dir):
    with open_repository(data_dir, "tinydb") as repo:
        case_id = repo.save_case({"name": "x"})["id"]
    shard = file_holding(data_dir, case_id)
    shard.write_text("", encoding="utf-8")
    with open_repository(data_dir, "tinydb") as repo, pytest.raises(StorageError, match=re.escape(str(shard))):
        repo.list_cases()


def test_tinydb_leftover_temp_file_is_removed_on_open(data_dir):
    with open_repository(data_dir, "tinydb") as repo:
        case_id = repo.save_case(consultation())["id"]
    leftover = data_dir / "cases" / ".00.json.k1ll3d.tmp"
    leftover.write_bytes(b'{"cases": {"1": {"id": "half')
    with open_repository(data_dir, "tinydb") as repo:
        assert not leftover.exists()
        assert repo.get_case(case_id)["name"] == "山田 花子"


def test_tinydb_shard_count_is_fixed_at_creation(data_dir):
    from storage.tinydb_store import TinyDBRepository

    TinyDBRepository(data_dir, shards=8).close()
    with TinyDBRepository(data_dir) as repo:
        assert repo.shards == 8
    with pytest.raises(StorageError, match="分割数 8"):
        TinyDBRepository(data_dir, shards=64)


def test_read_cases_runs_a_view_over_every_case(repo):
    for name in ("A", "B", "C"):
        repo.save_case({"name": name})
    assert repo.read_cases(lambda cases: sorted(c["name"] for c in cases)) == ["A", "B", "C"]
    assert repo.read_cases(len) == 3
