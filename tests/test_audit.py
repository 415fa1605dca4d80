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
