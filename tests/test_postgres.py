"""What only the PostgreSQL backend has: its errors, migrations, users, audit chain and one-transaction changes.

The repository contract itself (cases, events, versions, meta, conflicts, threads, processes,
a killed writer) runs on PostgreSQL in test_storage.py, parametrised with the file backends.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from engine.cli import main as cli
from engine.errors import StorageError
from storage import location, open_audit, open_repository, open_users
from storage.pg_database import Database, migrations
from storage.users import AuthError

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- choosing it, and the errors when it is wrong ----------------------------------------------
def test_a_url_opens_postgres_and_a_folder_the_embedded_store(pg_url, tmp_path, monkeypatch):
    from storage.postgres_store import PostgresRepository
    from storage.tinydb_store import TinyDBRepository
    monkeypatch.delenv("TSUNAGU_DATABASE_URL", raising=False)
    assert location(tmp_path) == str(tmp_path)
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", pg_url)
    assert location(tmp_path) == pg_url
    with open_repository(location(tmp_path)) as repo:
        assert isinstance(repo, PostgresRepository)
    with open_repository(tmp_path) as repo:
        assert isinstance(repo, TinyDBRepository)
    with pytest.raises(StorageError, match="postgresql://"):
        location(tmp_path, "mysql://db/tsunagu")


def test_a_database_that_is_down_is_named_in_japanese_and_nothing_falls_back(tmp_path, capsys):
    port = free_port()                      # nothing listens here
    url = f"postgresql://tsunagu:secret-pw@127.0.0.1:{port}/tsunagu"
    with pytest.raises(StorageError) as down:
        open_repository(url)
    message = str(down.value)
    assert f"127.0.0.1:{port}" in message and "接続できません" in message and "サーバーが起動しているか" in message
    assert "secret-pw" not in message

    assert cli(["demo-data", "--cases", "3", "--data", str(tmp_path / "data"), "--database", url]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "Traceback" not in err and "secret-pw" not in err
    assert not (tmp_path / "data").exists(), "fell back to the data folder"


def test_wrong_password_and_missing_database_say_so(pg_server, capsys):
    from tests.conftest import database_url
    wrong = pg_server.replace("://tsunagu:", "://tsunagu:wrong", 1)
    with pytest.raises(StorageError, match="password") as refused:
        open_repository(wrong)
    assert "wrong" not in str(refused.value).replace("wrong password", "")
    with pytest.raises(StorageError, match="no_such_db"):
        open_repository(database_url(pg_server, "no_such_db"))
    assert cli(["user", "list", "--database", "postgresql://u@[bad"]) == 2
    assert "書き方が正しくありません" in capsys.readouterr().err


def test_serve_refuses_a_database_that_is_down_before_starting(capsys):
    url = f"postgresql://tsunagu@127.0.0.1:{free_port()}/tsunagu"
    assert cli(["serve", "--database", url, "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert "接続できません" in err and "Traceback" not in err


# -- schema migrations ------------------------------------------------------------------------
def test_the_app_creates_the_schema_and_db_upgrade_reports_it(pg_url, capsys):
    assert cli(["db", "upgrade", "--database", pg_url]) == 0
    latest = migrations()[-1][0]
    assert f"版 {latest}" in capsys.readouterr().out
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"cases", "events", "versions", "meta", "users", "audit", "schema_migrations"} <= tables
        assert [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")] == \
            [number for number, _, _ in migrations()]
    assert cli(["db", "upgrade", "--database", pg_url]) == 0          # idempotent
    assert "（最新）" in capsys.readouterr().out


def test_a_schema_from_a_newer_app_is_refused(pg_url):
    open_repository(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
    with pytest.raises(StorageError, match="新しい版"):
        open_repository(pg_url)


def test_two_instances_starting_at_once_migrate_once(pg_url):
    errors = []

    def start() -> None:
        try:
            Database(pg_url).pool.close()
        except BaseException as err:
            errors.append(err)
    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- users and the audit chain in the same database --------------------------------------------
def test_users_live_in_the_database_with_the_same_rules(pg_url):
    users = open_users(pg_url)
    users.add("yamada", "山田 太郎", ["admin"], "とても長い日本語のパスフレーズです")
    with pytest.raises(AuthError, match="すでにあります"):
        users.add("yamada", "別人", ["admin"], "とても長い日本語のパスフレーズです")
    assert users.authenticate("yamada", "とても長い日本語のパスフレーズです").roles == ("admin",)
    for _ in range(5):
        with pytest.raises(AuthError):
            users.authenticate("yamada", "ちがうパスワードですよ")
    with pytest.raises(AuthError, match="ロック"):
        users.authenticate("yamada", "とても長い日本語のパスフレーズです")
    other = open_users(pg_url)                                       # another app instance
    other.set_disabled("yamada")
    assert users.get("yamada").disabled
    with psycopg.connect(pg_url) as conn:
        body = conn.execute("SELECT body::text FROM users WHERE id = 'yamada'").fetchone()[0]
    assert "パスフレーズ" not in body and "argon2id" in body
    users.close()
    other.close()


def test_sessions_live_in_the_database_and_end_with_the_account_on_every_instance(pg_url):
    from storage import open_sessions
    users, here, there = open_users(pg_url), open_sessions(pg_url), open_sessions(pg_url)   # two app instances
    users.add("sato", "佐藤（架空）", ["agency_staff"], "じゅうもじいじょうのぱすわーど", agency="houkatsu_a")
    token, other = here.start("sato"), here.start("sato")
    assert there.user_of(token) == "sato" and there.count("sato") == 2
    with psycopg.connect(pg_url) as conn:
        stored = [row[0] for row in conn.execute("SELECT id FROM sessions")]
    assert len(stored) == 2 and token not in stored and other not in stored       # only digests are kept
    there.end(token)
    assert here.user_of(token) is None and here.user_of(other) == "sato"
    users.reset_password("sato", "あたらしいじゅうもじのぱすわーど")
    assert there.user_of(other) is None
    token = here.start("sato")
    open_users(pg_url).set_disabled("sato")                         # disabled from the other instance
    assert there.user_of(token) is None and here.count("sato") == 0
    for store in (users, here, there):
        store.close()


def test_audit_chain_in_the_database_detects_edits_and_cut_tails(pg_url):
    log = open_audit(pg_url)
    for n in range(5):
        log.append("u_admin", "case_view", case_id=f"C{n}")
    assert log.verify().ok and log.verify().entries == 5
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE audit SET body = jsonb_set(body, '{actor}', '\"intruder\"') WHERE seq = 3")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 3
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE audit SET body = jsonb_set(body, '{actor}', '\"u_admin\"') WHERE seq = 3")
    assert log.verify().ok
    with psycopg.connect(pg_url) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 5")
    assert "末尾" in log.verify().message
    with pytest.raises(StorageError, match="ID とコード"):
        log.append("u_admin", "case_view", name="山田 花子")
    log.close()


def _hold_lanes(pg_url: str, lanes) -> list:
    """Other app instances in the middle of a change: each holds one audit lane's head."""
    held = []
    for lane in lanes:
        conn = psycopg.connect(pg_url)
        assert conn.execute("SELECT lane FROM audit_head WHERE lane = %s FOR UPDATE", (lane,)).fetchone() == (lane,)
        held.append(conn)
    return held


def test_a_change_made_while_another_holds_the_audit_head_writes_the_next_lane(pg_url):
    from storage.audit import GENESIS
    log = open_audit(pg_url)
    log.append("u_admin", "login")
    other = _hold_lanes(pg_url, [0])[0]                 # another instance's change, not yet committed
    beside = log.append("u_admin", "case_view", case_id="C1")
    other.rollback()
    after = log.append("u_admin", "case_view", case_id="C2")
    assert (beside["lane"], beside["seq"], beside["prev"]) == (1, 1, GENESIS)     # lane 1's first entry
    assert "lane" not in after and after["seq"] == 2                              # back on lane 0
    assert [(e.get("lane", 0), e["seq"]) for e in log.entries()] == [(0, 1), (1, 1), (0, 2)]   # as written
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 3, verdict.message
    with psycopg.connect(pg_url) as conn:              # edited in lane 1: the lane is named
        conn.execute("UPDATE audit SET body = jsonb_set(body, '{actor}', '\"intruder\"') WHERE lane = 1")
    verdict = log.verify()
    assert not verdict.ok and "系列 2" in verdict.message and "書き換えられています" in verdict.message
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE audit SET body = jsonb_set(body, '{actor}', '\"u_admin\"') WHERE lane = 1")
    assert log.verify().ok
    with psycopg.connect(pg_url) as conn:              # moved into lane 0, as if it had been written there
        conn.execute("UPDATE audit SET lane = 0, seq = 3 WHERE lane = 1")
    assert not log.verify().ok
    with psycopg.connect(pg_url) as conn:              # gone from lane 1 altogether: lane 1's head remembers it
        conn.execute("DELETE FROM audit WHERE seq = 3")
    verdict = log.verify()
    assert not verdict.ok and "系列 2" in verdict.message and "末尾" in verdict.message
    with psycopg.connect(pg_url) as conn:              # lane 0's head row gone: said without a file's name
        conn.execute("DELETE FROM audit WHERE lane = 1")
        conn.execute("UPDATE audit_head SET seq = 0, hash = %s WHERE lane = 1", (GENESIS,))
        conn.execute("DELETE FROM audit_head WHERE lane = 0")
    verdict = log.verify()
    assert not verdict.ok and verdict.message == "記録は 2 件ありますが、最後の記録の控えがありません（削除された可能性）"
    log.close()


def test_when_every_lane_is_held_an_append_waits_for_lane_zero(pg_url):
    from storage.pg_audit import LANES
    log = open_audit(pg_url)
    log.append("u_admin", "login")
    held = _hold_lanes(pg_url, range(LANES))
    done, got = threading.Event(), []
    thread = threading.Thread(target=lambda: (got.append(log.append("u_admin", "case_view", case_id="C1")), done.set()))
    thread.start()
    try:
        assert not done.wait(0.5)                      # waiting, not failing and not writing a 17th chain
        held[0].rollback()
        assert done.wait(30)
    finally:
        for conn in held:
            conn.close()
        thread.join()
    assert "lane" not in got[0] and got[0]["seq"] == 2
    assert log.verify().ok and log.verify().entries == 2
    log.close()


def test_an_audit_chain_from_before_the_lanes_carries_on_in_lane_zero(pg_url):
    """A database an older app left at schema 9 (one head row) with entries in it: the upgrade keeps
    them valid, and the next entries continue their chain."""
    from storage.audit import GENESIS, entry_hash
    from storage.keys import audit_key
    from tests.test_pg_queries import left_at
    key, prev, entries = audit_key(create=True), GENESIS, []
    for seq in (1, 2, 3):
        entry = {"seq": seq, "at": "2026-11-01T00:00:00+00:00", "actor": "u_admin", "action": "login", "prev": prev}
        entry["hash"] = prev = entry_hash(entry, key)
        entries.append(entry)
    with psycopg.connect(pg_url) as conn:
        left_at(conn, 9)
        for entry in entries:
            conn.execute("INSERT INTO audit (seq, body) VALUES (%s, %s)", (entry["seq"], psycopg.types.json.Jsonb(entry)))
        conn.execute("INSERT INTO audit_head (seq, hash) VALUES (3, %s)", (prev,))
    log = open_audit(pg_url)                           # upgrades to the lanes
    assert log.verify().ok and log.verify().entries == 3
    added = log.append("u_admin", "case_view", case_id="C1")
    assert (added["seq"], added["prev"], "lane" in added) == (4, prev, False)
    assert [e["seq"] for e in log.entries()] == [1, 2, 3, 4] and log.verify().ok
    log.close()


def test_audit_appends_from_two_processes_form_one_chain(pg_url):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from storage import open_audit\n"
            "log = open_audit(sys.argv[1])\n"
            "for n in range(60): log.append('u' + sys.argv[2], 'case_view', case_id='C%%d' %% n)\n") % str(ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", code, pg_url, str(i)], stderr=subprocess.PIPE, text=True)
             for i in range(3)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    log = open_audit(pg_url)
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 180, verdict.message
    log.close()


def test_a_case_its_events_and_its_audit_entry_commit_together(pg_url):
    repo, log = open_repository(pg_url), open_audit(pg_url)

    class Crash(Exception):
        pass

    with pytest.raises(Crash):
        with repo.atomic():
            saved = repo.save_case({"name": "途中で止まる"})
            repo.add_events_bulk([(saved["id"], {"type": "received"})])
            log.append("u_admin", "case_write", case_id=saved["id"])
            raise Crash()
    assert repo.count_cases() == 0 and repo.events(saved["id"]) == [] and log.verify().entries == 0
    with repo.atomic():
        saved = repo.save_case({"name": "最後まで"})
        repo.add_events_bulk([(saved["id"], {"type": "received"})])
        log.append("u_admin", "case_write", case_id=saved["id"])
    assert repo.count_cases() == 1 and len(repo.events(saved["id"])) == 1 and log.verify().entries == 1
    repo.close()
    log.close()


def test_intakes_from_many_threads_at_once_form_one_chain_and_a_stale_save_leaves_nothing(pg_url):
    """save_case_with_events is pipelined (the head of the audit chain is held for one round trip):
    eight writers at once still give every case its events numbered from 1 and one unbroken chain."""
    from engine.errors import ConflictError
    from storage.audit import PendingEntry
    repo, log = open_repository(pg_url), open_audit(pg_url)
    saved: list[str] = []
    failures: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(12):
                case = repo.save_case_with_events({"intake": {"area": f"area{n}"}}, [{"type": "received"}, {"type": "routed"}],
                                                  audit=PendingEntry(log, f"u{n}", "case_write", {"detail": "received"}))
                saved.append(case["id"])
        except BaseException as err:          # noqa: BLE001 - reported below
            failures.append(err)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert repo.count_cases() == len(set(saved)) == 96
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 96, verdict.message
    one = saved[0]
    assert [e["seq"] for e in repo.events(one)] == [1, 2]
    again = repo.save_case_with_events({**repo.get_case(one), "status": "closed"}, [{"type": "status"}], expected_revision=1,
                                       audit=PendingEntry(log, "u0", "case_write", {"detail": "status"}))
    assert again["revision"] == 2 and [e["seq"] for e in repo.events(one)] == [1, 2, 3]
    with pytest.raises(ConflictError, match="先に保存"):
        repo.save_case_with_events({**again, "status": "received"}, [{"type": "status"}], expected_revision=1,
                                   audit=PendingEntry(log, "u1", "case_write", {"detail": "status"}))
    assert repo.get_case(one)["status"] == "closed" and len(repo.events(one)) == 3 and log.verify().entries == 97
    repo.close()
    log.close()


def test_a_fresh_case_id_that_is_taken_is_drawn_again(pg_url, monkeypatch):
    from storage import records
    repo = open_repository(pg_url)
    taken = repo.save_case({"id": "C20260401-aaaaaa", "intake": {"area": "area1"}})
    draws = iter(["C20260401-aaaaaa", "C20260401-bbbbbb"])
    monkeypatch.setattr(records, "new_case_id", lambda *a: next(draws))
    fresh = repo.save_case_with_events({"intake": {"area": "area2"}}, [{"type": "received"}])
    assert fresh["id"] == "C20260401-bbbbbb" and fresh["revision"] == 1
    assert repo.get_case(taken["id"])["intake"]["area"] == "area1" and repo.events(taken["id"]) == []
    repo.close()


def test_an_audit_log_in_a_folder_is_refused_beside_the_database(pg_url, tmp_path):
    """Its entries could not commit with the changes: refused before anything is written."""
    from engine.casework.access import Access, ScopedRepository
    from engine.pack import load_pack
    from storage.audit import PendingEntry
    from storage.users import User
    repo, folder_log = open_repository(pg_url), open_audit(tmp_path / "audit")
    with pytest.raises(StorageError, match="同じデータベースの監査ログしか使えません"):
        repo.save_case_with_events({"intake": {}}, [{"type": "received"}], audit=PendingEntry(folder_log, "u1", "case_write", {}))
    with pytest.raises(StorageError, match="同じ URL で開いてください"):
        repo.set_meta("live_version", "v1", audit=PendingEntry(folder_log, "u1", "config_publish", {}))
    pack = load_pack()
    with pytest.raises(StorageError, match="同じデータベースの監査ログしか使えません"):
        ScopedRepository(repo, pack, Access.of(pack, User("admin1", "管理者", ("admin",))), folder_log)
    assert repo.count_cases() == 0 and repo.get_meta("live_version") is None
    assert list(folder_log.entries()) == []
    repo.close()


def test_the_cli_manages_users_and_audit_on_the_database(pg_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", pg_url)
    monkeypatch.setenv("TSUNAGU_PASSWORD", "十文字以上のパスワードです")
    assert cli(["user", "add", "sato", "--role", "admin", "--data", str(tmp_path / "unused")]) == 0
    assert cli(["user", "list"]) == 0
    assert "sato" in capsys.readouterr().out
    assert cli(["audit", "verify"]) == 0
    assert "1 件" in capsys.readouterr().out
    assert cli(["demo-data", "--cases", "5"]) == 0
    with open_repository(pg_url) as repo:
        assert repo.count_cases() == 5
    assert not (tmp_path / "unused").exists()
    assert os.environ["TSUNAGU_DATABASE_URL"] == pg_url


def test_the_audit_page_numbers_entries_of_every_lane_in_the_order_written(pg_url, data, monkeypatch):
    """連番 on the 監査ログ page is one number per entry, in the order written, though two entries
    are the first of their lanes (each chain numbers its own)."""
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("TSUNAGU_DATABASE_URL", pg_url)
    log = open_audit(pg_url)
    log.append("test_admin", "login")
    other = _hold_lanes(pg_url, [0])[0]
    log.append("test_admin", "case_view", case_id="C20261101-000001")
    other.rollback()
    log.append("test_admin", "logout")
    at = AppTest.from_file(str(ROOT / "ui" / "views" / "admin" / "audit.py"), default_timeout=10).run()
    assert not at.exception and at.success[0].value == "監査ログ 3 件はすべて正しくつながっています"
    table = at.dataframe[0].value
    assert list(table["連番"]) == [3, 2, 1]                                # newest first
    assert list(table["何を"]) == ["ログアウト", "ケースの閲覧", "ログイン"]
    other.close()
    log.close()
