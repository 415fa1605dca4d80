"""The audit log is append-only and tamper-evident: edit, delete, reorder, truncate."""
from __future__ import annotations

import json

import pytest

from engine.errors import StorageError
from storage.audit import AuditLog


@pytest.fixture
def log(tmp_path):
    log = AuditLog(tmp_path)
    for i in range(5):
        log.append("u_admin", "case_view", case_id=f"C{i}")
    return log


def lines(log):
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_intact_log_verifies(log):
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 5


def test_edited_entry_is_named(log):
    rows = lines(log)
    entry = json.loads(rows[2])
    entry["case_id"] = "C999"
    rows[2] = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    log.path.write_text("".join(rows), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 3 and "書き換え" in verdict.message


def test_deleted_entry_is_named(log):
    rows = lines(log)
    del rows[1]
    log.path.write_text("".join(rows), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 2


def test_reordered_entries_are_named(log):
    rows = lines(log)
    rows[3], rows[4] = rows[4], rows[3]
    log.path.write_text("".join(rows), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 4


def test_truncated_tail_is_detected(log):
    rows = lines(log)
    log.path.write_text("".join(rows[:3]), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 4 and "切り詰め" in verdict.message


def test_rehashed_forgery_still_breaks_the_chain(log):
    # Someone edits an entry AND recomputes its own hash: the next entry no longer links.
    from storage.audit import entry_hash
    rows = lines(log)
    entry = json.loads(rows[1])
    entry["actor"] = "u_other"
    entry["hash"] = entry_hash(entry)
    rows[1] = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    log.path.write_text("".join(rows), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 3


def test_personal_fields_cannot_be_logged(tmp_path):
    with pytest.raises(StorageError, match="ID とコードだけ"):
        AuditLog(tmp_path).append("u_admin", "case_view", name="山田 花子")


# -- crashes: append and head can never disagree for good -----------------------------------
def test_killed_between_log_and_head_is_repaired_on_open(log):
    stale = log.head.read_bytes()
    log.append("u_admin", "case_view", case_id="C5")
    log.head.write_bytes(stale)                      # as if killed after the log's fsync
    reopened = AuditLog(log.path.parent.parent)
    assert reopened.verify().ok and reopened.verify().entries == 6
    assert reopened.append("u_admin", "logout")["seq"] == 7
    assert reopened.verify().ok


def test_torn_last_line_is_cut_off_on_open(log):
    with open(log.path, "ab") as out:
        out.write(b'{"seq": 6, "actor": "u_adm')       # killed mid-write: never acknowledged
    reopened = AuditLog(log.path.parent.parent)
    assert reopened.verify().ok and reopened.verify().entries == 5
    assert reopened.append("u_admin", "logout")["seq"] == 6


def test_first_entry_without_head_is_repaired(tmp_path):
    log = AuditLog(tmp_path)
    log.append("u_admin", "login")
    log.head.unlink()                                # killed before the very first head write
    assert AuditLog(tmp_path).verify().ok


# -- the chain is keyed: an unkeyed recomputation is a forgery ------------------------------
def test_unkeyed_recomputed_chain_is_detected(log):
    import hashlib
    rows = [json.loads(r) for r in lines(log)]
    prev = "0" * 64
    for entry in rows:                               # the old, unkeyed SHA-256 chain, recomputed
        entry["actor"] = "u_other"
        entry["prev"] = prev
        body = {k: v for k, v in entry.items() if k != "hash"}
        entry["hash"] = prev = hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    log.path.write_text("".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in rows), encoding="utf-8")
    log.head.write_text(json.dumps({"seq": 5, "hash": prev}), encoding="utf-8")
    verdict = log.verify()
    assert not verdict.ok and verdict.first_bad == 1 and "書き換え" in verdict.message


def test_key_lives_outside_the_data_folder_and_is_private(log):
    import stat
    from storage.keys import key_path
    path = key_path()
    assert not path.resolve().is_relative_to(log.dir.parent.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_missing_key_is_a_failure_not_a_new_key(log, tmp_path, monkeypatch):
    monkeypatch.setenv("TSUNAGU_AUDIT_KEY_FILE", str(tmp_path / "elsewhere" / "gone.key"))
    verdict = log.verify()
    assert not verdict.ok and "鍵" in verdict.message
    with pytest.raises(StorageError, match="鍵"):
        log.append("u_admin", "login")
    assert not (tmp_path / "elsewhere" / "gone.key").exists()


# -- damage is always a Japanese message and exit 2, never a traceback or "0 件" ------------
DAMAGE = {
    "log deleted": lambda d: (d / "audit" / "log.jsonl").unlink(),
    "folder deleted": lambda d: __import__("shutil").rmtree(d / "audit"),
    "log emptied": lambda d: (d / "audit" / "log.jsonl").write_bytes(b""),
    "garbage head": lambda d: (d / "audit" / "head.json").write_bytes(b"\x00garbage{"),
    "head not an object": lambda d: (d / "audit" / "head.json").write_text("[1, 2]"),
    "head seq text": lambda d: (d / "audit" / "head.json").write_text('{"seq": "x", "hash": 1}'),
    "head deleted": lambda d: (d / "audit" / "head.json").unlink(),
    "invalid utf-8": lambda d: open(d / "audit" / "log.jsonl", "ab").write(b"\xff\xfe\xfa\n"),
    "line not an object": lambda d: open(d / "audit" / "log.jsonl", "ab").write(b"[1]\n"),
    "entry not json": lambda d: open(d / "audit" / "log.jsonl", "ab").write(b"{{{\n"),
    "log is a folder": lambda d: ((d / "audit" / "log.jsonl").unlink(), (d / "audit" / "log.jsonl").mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_every_damage_fails_verify_with_a_message(log, damage, capsys):
    from engine.cli import main
    data = log.dir.parent
    damage(data)
    assert main(["audit", "verify", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err and "すべて正しく" not in err


def test_verify_on_a_folder_that_never_had_a_log_fails(tmp_path, capsys):
    from engine.cli import main
    assert main(["audit", "verify", "--data", str(tmp_path)]) == 2
    assert "ありません" in capsys.readouterr().err
    assert not (tmp_path / "audit").exists()             # verifying never creates a log
