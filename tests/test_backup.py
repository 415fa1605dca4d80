"""Backup while writing, restore, and nothing lost; the audit still verifies; CLI for users and audit."""
from __future__ import annotations

import threading

import pytest

from engine.casework.demo import mark_store, save_demo
from engine.changes.versions import ensure_live, history
from engine.cli import main
from engine.errors import StorageError
from engine.pack import DEFAULT_PACK, load_pack
from storage import open_repository
from storage.audit import AuditLog
from storage.backup import backup, restore
from storage.users import UserStore


def test_round_trip_loses_nothing_even_while_the_app_writes(tmp_path):
    data = tmp_path / "data"
    pack = load_pack()
    with open_repository(data) as repo:
        mark_store(repo, "demo")
        save_demo(repo, pack, 50)
        ensure_live(repo, DEFAULT_PACK)
        UserStore(data).add("admin1", "管理者", ["admin"], "じゅうもじいじょうのぱすわーど")
        audit = AuditLog(data)
        for i in range(20):
            audit.append("admin1", "case_view", case_id=f"C{i}")
        stop = threading.Event()

        def writer():
            while not stop.is_set():
                audit.append("admin1", "case_view", case_id="Cbusy")

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            backup(data, tmp_path / "b.tar.gz")
        finally:
            stop.set()
            thread.join()
        cases = {c["id"]: c for c in repo.list_cases()}
        events = {cid: repo.events(cid) for cid in cases}
    restore(tmp_path / "b.tar.gz", tmp_path / "restored")
    with open_repository(tmp_path / "restored") as copy:
        assert {c["id"]: c for c in copy.list_cases()} == cases
        assert {cid: copy.events(cid) for cid in cases} == events
        assert [v.id for v in history(copy)] == [v.id for v in history(open_repository(data))]
    assert UserStore(tmp_path / "restored").authenticate("admin1", "じゅうもじいじょうのぱすわーど").id == "admin1"
    verdict = AuditLog(tmp_path / "restored").verify()
    assert verdict.ok and verdict.entries >= 20


def test_restore_refuses_a_non_empty_folder_and_a_broken_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x").write_text("x")
    backup(tmp_path / "data", tmp_path / "b.tar.gz")
    with pytest.raises(StorageError, match="空ではありません"):
        restore(tmp_path / "b.tar.gz", tmp_path / "data")
    (tmp_path / "broken.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(StorageError, match="読めません"):
        restore(tmp_path / "broken.tar.gz", tmp_path / "other")


def test_cli_user_audit_backup_restore(tmp_path, monkeypatch, capsys):
    data = str(tmp_path / "data")
    monkeypatch.setenv("TSUNAGU_PASSWORD", "じゅうもじいじょうのぱすわーど")
    assert main(["user", "add", "sato", "--role", "agency_staff", "--agency", "houkatsu_a", "--data", data]) == 0
    assert main(["user", "add", "kato", "--role", "admn", "--data", data]) == 2
    assert "もしかして: admin" in capsys.readouterr().err
    assert main(["user", "disable", "sato", "--data", data]) == 0
    assert main(["audit", "verify", "--data", data]) == 0
    assert main(["backup", "--data", data, "--out", str(tmp_path / "b.tar.gz")]) == 0
    assert main(["restore", str(tmp_path / "b.tar.gz"), "--data", str(tmp_path / "r")]) == 0
    log = tmp_path / "data" / "audit" / "log.jsonl"
    log.write_text(log.read_text(encoding="utf-8").replace("sato", "kato"), encoding="utf-8")
    assert main(["audit", "verify", "--data", data]) == 2
    assert "1件目" in capsys.readouterr().err


def test_a_killed_backups_temp_files_are_gone_after_the_next_run(tmp_path):
    data = tmp_path / "data"
    AuditLog(data).append("admin1", "login")
    out = tmp_path / "backups"
    out.mkdir()
    for debris in (".tsunagu-1.tar.gz.4242.tmp", "tsunagu-1.tar.gz.tmp"):   # new and old naming
        (out / debris).write_bytes(b"half an archive")
    backup(data, out / "tsunagu-2.tar.gz")
    assert sorted(p.name for p in out.iterdir()) == ["tsunagu-2.tar.gz"]
