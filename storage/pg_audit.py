"""The hash-chained audit log in PostgreSQL's ``audit`` table (one row per entry).

The chain and its check are audit.py's; only where entries go differs. The database keeps
``LANES`` chains side by side (``audit_head`` holds one head row per lane, migration 0010): an
append locks the lowest lane no other transaction holds, continues that lane's chain and commits
with whatever the caller's transaction holds (``repo.atomic()``): a case saved without its audit
entry, or the reverse, cannot happen. With one head, staff saving at once queued on it until each
change committed; with lanes they queue only when every lane is taken, and a quiet office still
writes one chain (lane 0). An entry of lane n > 0 names its lane, under its MAC, so an entry moved
to another lane breaks the chain; each lane's head catches a cut tail, as the one head did.
``pos`` orders entries across lanes as they were written.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterator

from engine.errors import StorageError
from storage.audit import ALLOWED, GENESIS, AuditLog, Verdict, check_chain, entry_hash
from storage.keys import audit_key
from storage.pg_database import Database

# Chains side by side; migration 0010 creates their heads (keep the two equal).
LANES = 16


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
            # locks a free lane's head, one writes the entry and moves it; the caller's commit
            # releases it.
            lane, seq, prev = self._lock_a_lane(conn)
            entry = {"seq": seq + 1, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "actor": actor, "action": action, **fields, "prev": prev}
            if lane:
                entry["lane"] = lane
            # The same key as the file log (outside the data, storage/keys.py): every app server
            # on this database needs the same key file. It is made with the database's first entry.
            entry["hash"] = entry_hash(entry, audit_key(create=seq == 0 and lane == 0))
            conn.execute("WITH added AS (INSERT INTO audit (lane, seq, body) VALUES (%s, %s, %s)) "
                         "UPDATE audit_head SET seq = %s, hash = %s WHERE lane = %s",
                         (lane, entry["seq"], Jsonb(entry), entry["seq"], entry["hash"], lane))
            return entry

    @staticmethod
    def _lock_a_lane(conn) -> tuple[int, int, str]:
        """(lane, seq, mac) of the lowest lane's head that no other transaction holds, locked.

        A lane this transaction holds already is not skipped, so a change's second entry never
        waits. When every lane is held, wait for lane 0: its holders never wait for a lane (they
        hold the lowest), so waiters cannot form a cycle.
        """
        head = conn.execute("SELECT lane, seq, hash FROM audit_head ORDER BY lane LIMIT 1 FOR UPDATE SKIP LOCKED").fetchone()
        if head is None:
            head = conn.execute("SELECT lane, seq, hash FROM audit_head WHERE lane = 0 FOR UPDATE").fetchone()
        if head is None:                               # heads emptied by hand: put them back, empty
            conn.execute("INSERT INTO audit_head (lane, seq, hash) SELECT n, 0, %s FROM generate_series(0, %s) AS n "
                         "ON CONFLICT (lane) DO NOTHING", (GENESIS, LANES - 1))
            head = conn.execute("SELECT lane, seq, hash FROM audit_head WHERE lane = 0 FOR UPDATE").fetchone()
        return int(head[0]), int(head[1]), str(head[2])

    def entries(self) -> Iterator[dict]:
        """Every entry, in the order they were written (across lanes)."""
        with self.db.transaction() as conn:
            rows = [row[0] for row in conn.execute("SELECT body FROM audit ORDER BY pos")]
        yield from rows

    def verify(self) -> Verdict:
        """Every lane's chain checked on one snapshot: an append from another instance meanwhile
        is not a break. A break names its lane (系列 n) once a lane other than the first is in use."""
        with self.db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            rows = conn.execute("SELECT lane, seq, body FROM audit ORDER BY lane, seq").fetchall()
            heads = {int(lane): (int(seq), str(digest))
                     for lane, seq, digest in conn.execute("SELECT lane, seq, hash FROM audit_head")}
        if not rows and all(head == (0, GENESIS) for head in heads.values()):
            return Verdict(True, 0, None, "監査ログはまだありません（0 件）")
        try:
            key = audit_key()
        except StorageError as err:
            return Verdict(False, 0, None, str(err))
        by_lane: dict[int, list[dict]] = {}
        for lane, _, body in rows:
            by_lane.setdefault(int(lane), []).append(body)
        lanes = sorted(set(heads) | set(by_lane))
        used = set(by_lane) | {lane for lane, head in heads.items() if head != (0, GENESIS)}
        named = bool(used - {0})                      # one chain (lane 0) reads as it always did
        total = 0
        for lane in lanes:
            verdict = check_chain(self._in_lane(by_lane.get(lane, []), lane), key, lambda lane=lane: heads.get(lane))
            if not verdict.ok:
                where = f"（系列 {lane + 1}）" if named else ""
                return Verdict(False, total + verdict.entries, verdict.first_bad, where + verdict.message)
            total += verdict.entries
        return Verdict(True, total, None, f"監査ログ {total} 件はすべて正しくつながっています")

    @staticmethod
    def _in_lane(entries: list[dict], lane: int) -> Iterator[dict]:
        """The lane's entries; one that names another lane (moved between lanes) reads as unreadable
        to the chain check, which stops there."""
        for entry in entries:
            if entry.get("lane", 0) != lane:
                raise ValueError("an entry of another lane")
            yield entry

    def close(self) -> None:
        self.db.release()
