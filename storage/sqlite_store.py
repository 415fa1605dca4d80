"""The same repository on stdlib sqlite3: the yardstick for benchmarks and a second backend for tests.

One connection shared by threads behind the repository lock; WAL mode so
readers in other processes are not blocked; ``BEGIN IMMEDIATE`` around every
read-check-write so two processes cannot both pass the same revision check.
Records are JSON text; only the keys we look up by get their own columns.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from engine.errors import StorageError
from storage import records
from storage.audit import PendingEntry, append_pending
from storage.base import UNSET, Repository
from storage.private import make_dir, touch_private

FILE_NAME = "tsunagu.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    case_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (case_id, seq));
CREATE TABLE IF NOT EXISTS versions (id TEXT PRIMARY KEY, saved_seq INTEGER UNIQUE NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_audit (change TEXT PRIMARY KEY, body TEXT NOT NULL);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SQLiteRepository(Repository):
    """Repository in ``<data_dir>/tsunagu.sqlite3``."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)
        make_dir(self.data_dir)
        self.path = self.data_dir / FILE_NAME
        # sqlite creates the file (and its -wal/-shm, with the same mode) under the umask: make it 600 first.
        touch_private(self.path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            # isolation_level=None: we issue BEGIN ourselves, so a revision
            # check and its write share one transaction.
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn = conn
            with self._guard():
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: each commit is fsynced, the same promise the TinyDB backend makes.
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(_SCHEMA)
            self._settle(None, replaying=True)          # entries a killed writer left
        except BaseException:
            if self._conn is not None:
                self._conn.close()
            raise

    # -- cases ---------------------------------------------------------------
    def save_case(self, case: dict, expected_revision: int | None = None) -> dict:
        records.require_dict(case, "ケース")
        with self._transaction() as db:
            case_id = records.case_id_of(case) or records.new_case_id(lambda c: self._case(db, c) is not None)
            record = records.next_case(case, case_id, self._case(db, case_id), expected_revision)
            db.execute("INSERT OR REPLACE INTO cases (id, body) VALUES (?, ?)", (case_id, _dumps(record)))
            return record

    def save_case_with_events(self, case: dict, events: list[dict], expected_revision: int | None = None,
                              audit: PendingEntry | None = None) -> dict:
        records.require_dict(case, "ケース")
        with self._transaction() as db:          # one transaction: the case and its events, or neither
            case_id = records.case_id_of(case) or records.new_case_id(lambda c: self._case(db, c) is not None)
            record = records.next_case(case, case_id, self._case(db, case_id), expected_revision)
            db.execute("INSERT OR REPLACE INTO cases (id, body) VALUES (?, ?)", (case_id, _dumps(record)))
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE case_id = ?", (case_id,)).fetchone()[0]
            rows = [records.next_event(case_id, event, seq + i) for i, event in enumerate(events, 1)]
            db.executemany("INSERT INTO events (case_id, seq, body) VALUES (?, ?, ?)",
                           [(case_id, row["seq"], _dumps(row)) for row in rows])
            change = self._pend(db, audit, case_id=case_id)
        self._settle(change)
        return record

    def get_case(self, case_id: str) -> dict | None:
        with self._reading() as db:
            return self._case(db, case_id)

    def list_cases(self) -> list[dict]:
        with self._reading() as db:
            rows = db.execute("SELECT body FROM cases ORDER BY id").fetchall()
        return [json.loads(body) for (body,) in rows]

    def count_cases(self) -> int:
        with self._reading() as db:
            return db.execute("SELECT COUNT(*) FROM cases").fetchone()[0]

    def delete_case(self, case_id: str) -> bool:
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE case_id = ?", (case_id,))
            return db.execute("DELETE FROM cases WHERE id = ?", (case_id,)).rowcount > 0

    def save_cases_bulk(self, cases: list[dict], events: Sequence[tuple[str, dict]] = (),
                        audit: Sequence[PendingEntry] = ()) -> list[dict]:
        with self._transaction() as db:          # one transaction: the cases, their events, the entries
            stored, new_ids = {}, set()
            for case in cases:
                records.require_dict(case, "ケース")
                case_id = records.case_id_of(case) or records.new_case_id(
                    lambda c: c in new_ids or self._case(db, c) is not None)
                new_ids.add(case_id)
                current = stored.get(case_id) or self._case(db, case_id)
                stored[case_id] = records.next_case(case, case_id, current, None)
            db.executemany("INSERT OR REPLACE INTO cases (id, body) VALUES (?, ?)",
                           [(case_id, _dumps(record)) for case_id, record in stored.items()])
            self._insert_events(db, events)
            changes = [self._pend(db, entry) for entry in audit]
        for change in changes:
            self._settle(change)
        return list(stored.values())

    # -- events --------------------------------------------------------------
    def add_event(self, case_id: str, event: dict) -> dict:
        with self._transaction() as db:
            if self._case(db, case_id) is None:
                raise records.missing_case(case_id)
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE case_id = ?",
                             (case_id,)).fetchone()[0]
            record = records.next_event(case_id, event, seq)
            db.execute("INSERT INTO events (case_id, seq, body) VALUES (?, ?, ?)", (case_id, seq, _dumps(record)))
            return record

    def add_events_bulk(self, events: list[tuple[str, dict]], audit: Sequence[PendingEntry] = ()) -> int:
        with self._transaction() as db:
            count = self._insert_events(db, events)
            changes = [self._pend(db, entry) for entry in audit]
        for change in changes:
            self._settle(change)
        return count

    def _insert_events(self, db: sqlite3.Connection, events: Sequence[tuple[str, dict]]) -> int:
        """Append ``(case_id, event)`` pairs, each case's seqs continuing its history."""
        seqs: dict[str, int] = {}
        rows = []
        for case_id, event in events:
            if case_id not in seqs:
                if self._case(db, case_id) is None:
                    raise records.missing_case(case_id)
                seqs[case_id] = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE case_id = ?",
                                           (case_id,)).fetchone()[0]
            seqs[case_id] += 1
            record = records.next_event(case_id, event, seqs[case_id])
            rows.append((case_id, seqs[case_id], _dumps(record)))
        db.executemany("INSERT INTO events (case_id, seq, body) VALUES (?, ?, ?)", rows)
        return len(rows)

    def events(self, case_id: str) -> list[dict]:
        with self._reading() as db:
            rows = db.execute("SELECT body FROM events WHERE case_id = ? ORDER BY seq", (case_id,)).fetchall()
        return [json.loads(body) for (body,) in rows]

    # -- config versions -----------------------------------------------------
    def save_version(self, version: dict) -> dict:
        version_id = records.version_id_of(version)
        with self._transaction() as db:
            row = db.execute("SELECT body FROM versions WHERE id = ?", (version_id,)).fetchone()
            if row is not None:
                return json.loads(row[0])
            record = records.json_copy(version)
            record["saved_seq"] = db.execute("SELECT COALESCE(MAX(saved_seq), 0) + 1 FROM versions").fetchone()[0]
            record.setdefault("saved_at", records.now_iso())
            db.execute("INSERT INTO versions (id, saved_seq, body) VALUES (?, ?, ?)",
                       (version_id, record["saved_seq"], _dumps(record)))
            return record

    def get_version(self, version_id: str) -> dict | None:
        with self._reading() as db:
            row = db.execute("SELECT body FROM versions WHERE id = ?", (version_id,)).fetchone()
        return json.loads(row[0]) if row is not None else None

    def list_versions(self) -> list[dict]:
        with self._reading() as db:
            rows = db.execute("SELECT body FROM versions ORDER BY saved_seq").fetchall()
        return [json.loads(body) for (body,) in rows]

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row is not None else default

    def set_meta(self, key: str, value: Any, expected: Any = UNSET, audit: PendingEntry | None = None) -> None:
        text = _dumps(records.json_copy(value, key))
        with self._transaction() as db:
            if expected is not UNSET:
                row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                records.check_meta(key, expected, json.loads(row[0]) if row is not None else None)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, text))
            change = self._pend(db, audit)
        self._settle(change)

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- the audit entry of a change -------------------------------------------
    # The audit log is a file outside the database. A change's entry is first stored in the
    # change's own transaction (pending_audit), then appended to the log and forgotten; a
    # crash in between leaves the row, and the next open appends it — once: whoever settles a
    # row holds the write lock and appends only if the row is still there, and a row found at
    # open is appended only if the log does not have its change id yet.
    @staticmethod
    def _pend(db: sqlite3.Connection, audit: PendingEntry | None, **more: Any) -> str | None:
        if audit is None:
            return None
        change = secrets.token_hex(8)
        db.execute("INSERT INTO pending_audit (change, body) VALUES (?, ?)", (change, _dumps(audit.to_json(**more))))
        return change

    def _settle(self, change: str | None, replaying: bool = False) -> None:
        """Append the pending entries (``change``'s, or every one left by a crash) to the log."""
        if change is None and not replaying:
            return
        if replaying:
            with self._reading() as db:
                if db.execute("SELECT 1 FROM pending_audit LIMIT 1").fetchone() is None:
                    return
        with self._transaction() as db:
            query = "SELECT change, body FROM pending_audit" + ("" if replaying else " WHERE change = ?")
            for found, body in db.execute(query, () if replaying else (change,)).fetchall():
                append_pending(json.loads(body), found, replaying)
                db.execute("DELETE FROM pending_audit WHERE change = ?", (found,))

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _case(db: sqlite3.Connection, case_id: str) -> dict | None:
        row = db.execute("SELECT body FROM cases WHERE id = ?", (case_id,)).fetchone()
        return json.loads(row[0]) if row is not None else None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard():
            yield self._open_conn()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard():
            db = self._open_conn()
            # IMMEDIATE takes the write lock now, before the revision check reads.
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _open_conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"{self.path} のリポジトリは閉じられています。open_repository で開き直してください。")
        return self._conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn sqlite's errors into StorageError that names the file and says what to do."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StorageError(
                f"データファイル {self.path} を読み書きできません（{exc}）。"
                "ファイルが壊れている場合はバックアップから復元してください。") from exc
