"""The hash-chained audit log in PostgreSQL's ``audit`` table (one row per entry).

The chain and its check are audit.py's; only where entries go differs. Each append locks
the one ``audit_head`` row, so appends from several app instances form one chain, and it
commits with whatever the caller's transaction holds (``repo.atomic()``): a case saved
without its audit entry, or the reverse, cannot happen.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterator

from engine.errors import StorageError
from storage.audit import ALLOWED, GENESIS, AuditLog, Verdict, check_chain, entry_hash
from storage.keys import audit_key
from storage.pg_database import Database


class PgAuditLog(AuditLog):
    """``AuditLog`` whose entries live in the database at ``url``."""

    def __init__(self, url: str):
        self.db = Database.open(url)
        self.path = self.db.place            # for messages

    def append(self, actor: str, action: str, **fields: Any) -> dict:
        from psycopg.types.json import Jsonb
        unknown = set(fields) - ALLOWED
        if unknown:
            raise StorageError(f"監査ログに書けない項目です: {sorted(unknown)}（ID とコードだけを記録します）")
        with self.db.transaction() as conn:
            # The head is locked for as short a time as the chain allows: one statement reads and
            # locks it, one writes the entry and moves it; the caller's commit releases it.
            head = conn.execute("SELECT seq, hash FROM audit_head FOR UPDATE").fetchone()
            if head is None:                                   # the first entry of a new database
                conn.execute("INSERT INTO audit_head (seq, hash) VALUES (0, %s) ON CONFLICT DO NOTHING", (GENESIS,))
                head = conn.execute("SELECT seq, hash FROM audit_head FOR UPDATE").fetchone()
            seq, prev = head
            entry = {"seq": seq + 1, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "actor": actor, "action": action, **fields, "prev": prev}
            # The same key as the file log (outside the data, storage/keys.py): every app server
            # on this database needs the same key file.
            entry["hash"] = entry_hash(entry, audit_key(create=seq == 0))
            conn.execute("WITH added AS (INSERT INTO audit (seq, body) VALUES (%s, %s)) "
                         "UPDATE audit_head SET seq = %s, hash = %s", (entry["seq"], Jsonb(entry), entry["seq"], entry["hash"]))
            return entry

    def entries(self) -> Iterator[dict]:
        with self.db.transaction() as conn:
            rows = [row[0] for row in conn.execute("SELECT body FROM audit ORDER BY seq")]
        yield from rows

    def verify(self) -> Verdict:
        """The chain check on one snapshot: an append from another instance meanwhile is not a break."""
        from engine.errors import StorageError
        with self.db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            entries = list(self.entries())
            head = self._read_head_or_none()
            if not entries and head in (None, (0, GENESIS)):
                return Verdict(True, 0, None, "監査ログはまだありません（0 件）")
            try:
                key = audit_key()
            except StorageError as err:
                return Verdict(False, 0, None, str(err))
            return check_chain(iter(entries), key, lambda: head)

    def _read_head_or_none(self, strict: bool = False) -> tuple[int, str] | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head").fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def close(self) -> None:
        self.db.release()
