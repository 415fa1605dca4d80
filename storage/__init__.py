"""Where cases, their history, config versions and settings are kept.

A *location* is either a data folder (the embedded TinyDB store, the default) or a
``postgresql://`` URL (the server backend, for several app instances on one database).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d, open_repository(d) as repo:
...     saved = repo.save_case({"name": "山田 花子"})
...     (saved["revision"], repo.get_case(saved["id"])["name"])
(1, '山田 花子')
"""
from __future__ import annotations

import gc
import os
import threading
from contextlib import nullcontext
from pathlib import Path

from engine.errors import StorageError, did_you_mean
from storage.base import UNSET, Repository
from storage.collector import collection_paused
from storage.pg_database import ENV as DATABASE_ENV, is_url
from storage.sqlite_store import SQLiteRepository
from storage.tinydb_store import TinyDBRepository


def _postgres(url: str) -> Repository:
    from storage.postgres_store import PostgresRepository      # psycopg loads only when used
    return PostgresRepository(url)


BACKENDS = {"tinydb": TinyDBRepository, "sqlite": SQLiteRepository, "postgres": _postgres}

__all__ = ["BACKENDS", "DATABASE_ENV", "UNSET", "Repository", "SQLiteRepository", "TinyDBRepository",
           "is_url", "location", "one_change", "open_audit", "open_repository", "open_sessions", "open_users", "warm_up", "warm_up_later"]


def location(data: str | Path | None = None, database: str | None = None) -> str:
    """Where the app's data lives: ``database`` (or TSUNAGU_DATABASE_URL) when given, else ``data``.

    There is no fallback: a database URL that cannot be reached is an error, never the folder.

    >>> location("./data", "postgresql://db/tsunagu")
    'postgresql://db/tsunagu'
    """
    url = database or os.environ.get(DATABASE_ENV) or ""
    if url:
        if not is_url(url):
            raise StorageError(f"データベースの URL は postgresql:// で始めてください（指定された値の先頭: {url[:12]!r}）。")
        return url
    return str(data if data is not None else os.environ.get("TSUNAGU_DATA", "./data"))


def open_repository(where: str | Path, backend: str | None = None) -> Repository:
    """Open (creating if needed) the store at ``where``: a data folder, or a postgresql:// URL.

    ``backend`` picks the file format of a folder (tinydb, the default, or sqlite); a URL
    is always PostgreSQL.
    """
    if backend is None:
        backend = "postgres" if is_url(where) else "tinydb"
    try:
        factory = BACKENDS[backend]
    except KeyError:
        hint = did_you_mean(backend, BACKENDS)
        raise StorageError(
            f"保存方式 {backend!r} はありません。{' '.join(BACKENDS)} のどれかを指定してください。"
            + (f"（{hint}）" if hint else "")) from None
    if (backend == "postgres") != is_url(where):
        raise StorageError(f"保存方式 {backend} には{'postgresql:// の URL' if backend == 'postgres' else 'データのフォルダ'}"
                           "を指定してください。")
    return factory(str(where) if backend == "postgres" else where)


def warm_up(repo: Repository, pause: float = 0.0) -> int:
    """Read every stored case once, so that the lists and counts that read every case are as quick
    the first time as the next; returns how many cases there are. Missing list indexes
    (storage/list_index.py) are written on the way; ``pause`` seconds are left between two shards
    (TinyDBRepository.warm_shards).

    The parse runs with the cycle collector paused, and what it made is then frozen
    (``gc.freeze``): the cases kept in memory hold no cycle, and left to the collector each full
    collection walked all of them again (0.7–1.3 s at 20,000 cases, at moments nobody chose, the
    first one during the first page). A shard re-read later (another process saved) is an ordinary
    young object again; only what is alive at start-up is frozen, once.
    """
    gc.collect()            # first, so no garbage alive now is frozen with the cases (and kept for good)
    with collection_paused():
        count = repo.warm_shards(pause) if hasattr(repo, "warm_shards") else repo.read_cases(len)
    gc.freeze()
    return count


#: Seconds left between two shards by the warm-up in the background (256 shards: +0.26 s).
WARM_UP_PAUSE = 0.001


def warm_up_later(repo: Repository) -> threading.Thread:
    """``warm_up`` in a background thread, as the app starts: the app answers at once, and the case
    list, read from the list index meanwhile, does not wait for 125 MB of shards. Reads by pages
    wait for one shard at most (TinyDBRepository.warm_shards). A failure (a broken shard) is left
    to the page that reads it, which says what is wrong."""
    def run() -> None:
        try:
            warm_up(repo, WARM_UP_PAUSE)
        except Exception:       # noqa: BLE001 - reported by the page that reads it, in Japanese
            pass
    thread = threading.Thread(target=run, name="tsunagu-warm-up", daemon=True)
    thread.start()
    return thread


def open_users(where: str | Path):
    """The staff accounts at ``where`` (users.json in a folder, the users table in PostgreSQL)."""
    if is_url(where):
        from storage.pg_users import PgUserStore
        return PgUserStore(str(where))
    from storage.users import UserStore
    return UserStore(where)


def open_sessions(where: str | Path):
    """The login sessions at ``where`` (sessions.json in a folder, the sessions table in PostgreSQL)."""
    if is_url(where):
        from storage.pg_users import PgSessionStore
        return PgSessionStore(str(where))
    from storage.sessions import SessionStore
    return SessionStore(where)


def open_audit(where: str | Path, create: bool = True):
    """The audit log at ``where`` (audit/log.jsonl in a folder, the audit table in PostgreSQL);
    ``create=False`` leaves a missing folder log missing (for verifying)."""
    if is_url(where):
        from storage.pg_audit import PgAuditLog
        return PgAuditLog(str(where))
    from storage.audit import AuditLog
    return AuditLog(where, create=create)


def one_change(repo) -> "object":
    """``with one_change(repo):`` the writes inside (a case, its events, its audit entry; a publish)
    commit together where the store has transactions (PostgreSQL), else one after the other."""
    atomic = getattr(repo, "atomic", None)
    return atomic() if atomic is not None else nullcontext()
