"""Moving an embedded store into PostgreSQL, and backing PostgreSQL up and restoring it."""
from __future__ import annotations

import json
import tarfile
import threading

import psycopg
import pytest

from engine.cli import main as cli
from engine.casework.demo import mark_store, save_demo
from engine.errors import StorageError
from engine.pack import DEFAULT_PACK, load_pack
from engine.changes.versions import ensure_live, history
from storage import open_audit, open_repository, open_users
from storage.audit import AuditLog
from storage.users import UserStore
from tests.conftest import database_url

PASSWORD = "じゅうもじいじょうのぱすわーど"


@pytest.fixture
def folder(tmp_path):
    """An embedded store in use: demo cases with events, a live version, an account, audit entries."""
    data = tmp_path / "data"
    with open_repository(data) as repo:
        mark_store(repo, "demo")
        save_demo(repo, load_pack(), 120)
        ensure_live(repo, DEFAULT_PACK)
        repo.add_event(repo.list_cases()[0]["id"], {"type": "note", "by": "admin1"})
    UserStore(data).add("admin1", "管理者", ["admin"], PASSWORD)
    for n in range(15):
        AuditLog(data).append("admin1", "case_view", case_id=f"C{n}")
    return data


def everything(where) -> tuple:
    with open_repository(where) as repo:
        cases = repo.list_cases()
        events = {c["id"]: repo.events(c["id"]) for c in cases}
        versions = repo.list_versions()
        live = [v.id for v in history(repo) if v.live]
    return cases, events, versions, live


def test_migrate_copies_everything_exactly_and_verifies_both_sides(folder, pg_url, capsys):
    assert cli(["migrate", "--data", str(folder), "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "ケース 120 件" in out and "監査ログ 15 件" in out and "確かめました" in out
    assert everything(pg_url) == everything(folder)             # revisions, timestamps, event numbers kept
    users = open_users(pg_url)
    assert users.authenticate("admin1", PASSWORD).roles == ("admin",)
    log = open_audit(pg_url)
    assert [e["hash"] for e in log.entries()] == [e["hash"] for e in AuditLog(folder).entries()]
    log.append("admin1", "case_view", case_id="C-after")              # the chain goes on from the copied head
    assert log.verify().ok and log.verify().entries == 16
    users.close()
    log.close()


def test_migrate_refuses_a_database_that_is_not_empty(folder, pg_url, capsys):
    with open_repository(pg_url) as repo:
        repo.save_case({"name": "先にある"})
    assert cli(["migrate", "--data", str(folder), "--to", pg_url]) == 2
    err = capsys.readouterr().err
    assert "空ではありません" in err and "ケース 1 件" in err
    with open_repository(pg_url) as repo:
        assert repo.count_cases() == 1 and repo.list_versions() == []


def test_migrate_refuses_a_source_whose_audit_chain_is_broken(folder, pg_url):
    log = folder / "audit" / "log.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[3])
    entry["actor"] = "intruder"
    lines[3] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(StorageError, match="移行元.*4件目"):
        from storage.transfer import migrate
        migrate(folder, pg_url)
    with open_repository(pg_url) as repo:
        assert repo.count_cases() == 0 and repo.list_versions() == []


def test_backup_while_writing_then_restore_is_consistent(pg_url, pg_server, tmp_path):
    repo, log = open_repository(pg_url), open_audit(pg_url)
    mark_store(repo, "demo")
    save_demo(repo, load_pack(), 60)
    ensure_live(repo, DEFAULT_PACK)
    open_users(pg_url).add("admin1", "管理者", ["admin"], PASSWORD)
    stop = threading.Event()

    def writer() -> None:                       # a case, its events and its audit entry, together
        while not stop.is_set():
            with repo.atomic():
                saved = repo.save_case({"name": "書き込み中"})
                repo.add_events_bulk([(saved["id"], {"type": "received"}), (saved["id"], {"type": "decided"})])
                log.append("admin1", "case_write", case_id=saved["id"])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert cli(["backup", "--database", pg_url, "--out", str(tmp_path / "pg.tar.gz")]) == 0
    finally:
        stop.set()
        thread.join()
    with tarfile.open(tmp_path / "pg.tar.gz") as tar:
        assert all(m.mode == 0o600 for m in tar.getmembers())
    target = database_url(pg_server, pg_url.rsplit("/", 1)[1] + "_r")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {target.rsplit('/', 1)[1]}")
    try:
        assert cli(["restore", str(tmp_path / "pg.tar.gz"), "--database", target]) == 0
        with open_repository(target) as copy:
            cases = copy.list_cases()
            written = [c for c in cases if c.get("name") == "書き込み中"]
            assert all(len(copy.events(c["id"])) == 2 for c in written)         # never a case without its events
            assert len(cases) == 60 + len(written)
            assert [v.id for v in history(copy) if v.live] == [v.id for v in history(repo) if v.live]
        restored_log = open_audit(target)
        verdict = restored_log.verify()
        assert verdict.ok and verdict.entries == len(written)                  # and never without its audit entry
        assert open_users(target).authenticate("admin1", PASSWORD).id == "admin1"
        # A second restore over it is refused, and --force replaces it.
        assert cli(["restore", str(tmp_path / "pg.tar.gz"), "--database", target]) == 2
        with open_repository(target) as copy:
            copy.save_case({"name": "あとから"})
        from storage import open_sessions
        sessions = open_sessions(target)
        token = sessions.start("admin1")
        assert cli(["restore", str(tmp_path / "pg.tar.gz"), "--database", target, "--force"]) == 0
        with open_repository(target) as copy:
            assert len(copy.list_cases()) == len(cases)
        assert sessions.user_of(token) is None                   # sessions never come back from a backup
        sessions.close()
        restored_log.close()
    finally:
        from storage.pg_database import Database
        for db in list(Database._shared.values()):
            if db.url == target:
                db._users = 1
                db.release()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {target.rsplit('/', 1)[1]} WITH (FORCE)")
    repo.close()
    log.close()


def test_restore_refuses_a_broken_or_tampered_archive(pg_url, tmp_path, capsys):
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tar")
    assert cli(["restore", str(tmp_path / "broken.tar.gz"), "--database", pg_url]) == 2
    assert "読めません" in capsys.readouterr().err
    with open_repository(pg_url) as repo:
        repo.save_case({"name": "一件"})
    assert cli(["backup", "--database", pg_url, "--out", str(tmp_path / "pg.tar.gz")]) == 0
    with tarfile.open(tmp_path / "pg.tar.gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    files["postgresql/cases.jsonl"] = b""                                  # a case cut out
    with tarfile.open(tmp_path / "cut.tar.gz", "w:gz") as tar:
        import io
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    assert cli(["restore", str(tmp_path / "cut.tar.gz"), "--database", pg_url, "--force"]) == 2
    assert "件数が目録" in capsys.readouterr().err
    assert cli(["restore", str(tmp_path / "pg.tar.gz")]) == 2
    assert "--data" in capsys.readouterr().err


def test_restore_brings_back_every_audit_lane_and_its_head(pg_url, tmp_path):
    """Entries written side by side in two lanes (storage/pg_audit.py) come back in the order they
    were written, each lane still verifies, and the lanes carry on from their restored heads."""
    log = open_audit(pg_url)
    log.append("u_admin", "login")
    other = psycopg.connect(pg_url)                     # another instance holds lane 0 for a moment
    other.execute("SELECT lane FROM audit_head WHERE lane = 0 FOR UPDATE")
    beside = log.append("u_admin", "case_view", case_id="C1")
    other.rollback()
    log.append("u_admin", "case_view", case_id="C2")
    assert cli(["backup", "--database", pg_url, "--out", str(tmp_path / "lanes.tar.gz")]) == 0
    written = list(log.entries())
    log.append("u_admin", "logout")                     # after the backup: gone again with --force
    assert cli(["restore", str(tmp_path / "lanes.tar.gz"), "--database", pg_url, "--force"]) == 0
    assert list(log.entries()) == written and log.verify().ok
    other.execute("SELECT lane FROM audit_head WHERE lane = 0 FOR UPDATE")
    again = log.append("u_admin", "case_view", case_id="C3")
    other.close()
    assert (again["lane"], again["seq"], again["prev"]) == (1, 2, beside["hash"])
    assert [e.get("lane", 0) for e in log.entries()] == [0, 1, 0, 1]
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 4, verdict.message
    log.close()
