"""Staff accounts and their login sessions in PostgreSQL's ``users`` and ``sessions`` tables
(one row per account / session), with the same rules as users.py and sessions.py.

A change (add, disable, a login's failure count, a session started or ended) is one
transaction that locks its table against other writers, so two app instances cannot lose
each other's changes, and a session started on one instance is known to the other.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from engine.errors import StorageError
from storage.pg_database import Database
from storage.sessions import IDLE_SECONDS, SessionStore
from storage.users import UserStore


class PgMapping:
    """What ``LockedJSONFile`` does with a file, on one table of (id, body) rows: ``_locked`` is
    a transaction holding the table's lock, ``_load``/``_save`` read and write in it."""

    TABLE = ""

    def __init__(self, url: str):
        self.url = url
        self.db = Database.open(url)
        self.path = self.db.place            # for messages
        self._tx = threading.local()

    def _read(self, conn) -> dict[str, dict]:
        return {row[0]: row[1] for row in conn.execute(f"SELECT id, body FROM {self.TABLE} ORDER BY id")}

    def _load(self) -> dict[str, dict]:
        conn = getattr(self._tx, "conn", None)
        if conn is not None:
            return self._read(conn)
        with self.db.transaction() as conn:
            return self._read(conn)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        refusal = None
        with self.db.transaction() as conn:
            conn.execute(f"LOCK TABLE {self.TABLE} IN SHARE ROW EXCLUSIVE MODE")
            self._tx.conn, self._tx.saved = conn, False
            try:
                yield
            except Exception as err:
                if not self._tx.saved:
                    raise
                # What was saved stays, as a replaced file would (a refused login's failure count).
                refusal = err
            finally:
                self._tx.conn = None
        if refusal is not None:
            raise refusal

    def _save(self, data: dict[str, dict]) -> None:
        """Write the rows that differ from the table (inside ``_locked``): changed, added, removed."""
        from psycopg.types.json import Jsonb
        conn = getattr(self._tx, "conn", None)
        if conn is None:
            raise StorageError(f"{self.TABLE} の保存は変更の中でだけできます（プログラムの誤り）。")
        current = self._read(conn)
        gone = [key for key in current if key not in data]
        changed = [(key, Jsonb(body)) for key, body in data.items() if current.get(key) != body]
        with conn.cursor() as cur:
            if gone:
                cur.execute(f"DELETE FROM {self.TABLE} WHERE id = ANY(%s)", (gone,))
            cur.executemany(f"INSERT INTO {self.TABLE} (id, body) VALUES (%s, %s) "
                            "ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body", changed)
        self._tx.saved = True

    def close(self) -> None:
        self.db.release()


class PgSessionStore(PgMapping, SessionStore):
    """``SessionStore`` whose sessions live in the database at ``url``."""

    TABLE = "sessions"

    def __init__(self, url: str, idle_seconds: int = IDLE_SECONDS):
        PgMapping.__init__(self, url)
        self.idle_seconds = idle_seconds


class PgUserStore(PgMapping, UserStore):
    """``UserStore`` whose accounts live in the database at ``url``."""

    TABLE = "users"
    _session_store: PgSessionStore | None = None

    def sessions(self) -> SessionStore:
        if self._session_store is None:
            self._session_store = PgSessionStore(self.url)
        return self._session_store

    def close(self) -> None:
        if self._session_store is not None:
            self._session_store.close()
        super().close()
