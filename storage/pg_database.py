"""One PostgreSQL database as the app uses it: a connection pool, the current thread's
transaction, Japanese errors that name the host, and the versioned schema migrations.

The repository, the user store and the audit log of one URL share one ``Database`` in a
process (``Database.open``), so a case, its events and its audit entry can be one transaction:
inside ``with db.transaction():`` every call on this thread uses the same connection.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from engine.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
URL_PREFIXES = ("postgresql://", "postgres://")
ENV = "TSUNAGU_DATABASE_URL"
# Key of the advisory lock that serialises migrations between app instances.
_MIGRATION_LOCK = 0x7473_756E

CHECK = ("確認すること: PostgreSQL のサーバーが起動しているか（systemctl status postgresql）、"
         "ホスト名とポート、ユーザー名とパスワード、データベース名、pg_hba.conf でこの端末からの接続が許可されているか。"
         "接続先は TSUNAGU_DATABASE_URL か --database で指定します。")


def is_url(location: object) -> bool:
    """Is this a PostgreSQL URL (rather than a data folder)?

    >>> is_url("postgresql://u@db.example/tsunagu"), is_url("./data")
    (True, False)
    """
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


def redact(url: str) -> str:
    """The URL without its password, for messages.

    >>> redact("postgresql://app:s3cret@db.example:5432/tsunagu")
    'postgresql://app:***@db.example:5432/tsunagu'
    """
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*):[^@]*@", r"\1:***@", url)


def where(url: str) -> str:
    """"host:port のデータベース name" for messages; never the password."""
    from psycopg.conninfo import conninfo_to_dict
    info = conninfo_to_dict(url)
    host = info.get("host") or "localhost"
    return f"{host}:{info.get('port') or 5432} のデータベース「{info.get('dbname') or info.get('user') or '?'}」"


def unreachable(url: str, err: Exception) -> StorageError:
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    try:
        place = where(url)
    except Exception:                                     # the URL itself is the problem
        place = redact(url)
    return StorageError(f"PostgreSQL（{place}）に接続できません（{reason}）。{CHECK}")


def _configure(conn) -> None:
    """Every pooled connection: no JIT compilation. The dashboard's and the case list's queries
    scan 100,000 rows in a few hundred milliseconds, where compiling them first cost ~70 ms more."""
    conn.execute("SET jit = off")


class Database:
    """A pool of connections to one database, shared per URL in this process."""

    _shared: dict[str, "Database"] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def open(cls, url: str) -> "Database":
        """The process's Database for ``url`` (connected and migrated on first use)."""
        with cls._shared_lock:
            db = cls._shared.get(url)
            if db is None or db.closed:
                db = cls._shared[url] = cls(url)
            db._users += 1
            return db

    def __init__(self, url: str):
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
        from psycopg_pool import ConnectionPool
        self.url = url
        self.place = redact(url)
        self._users = 0
        self._local = threading.local()
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as err:
            raise StorageError(f"データベースの URL「{redact(url)}」の書き方が正しくありません（{err}）。"
                               "postgresql://ユーザー:パスワード@ホスト:ポート/データベース名 の形で指定してください。") from None
        try:
            self.place = where(url)
            # One direct connection first: its error says why (refused, password, no such database);
            # the pool would only time out.
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as err:
            raise unreachable(url, err) from None
        self.pool = ConnectionPool(url, min_size=1, max_size=12, open=False, timeout=30,
                                   kwargs={"autocommit": True}, configure=_configure, name="tsunagu")
        self.pool.open(wait=True, timeout=30)
        self.closed = False
        try:
            upgrade(self)
        except BaseException:
            self.pool.close()
            raise

    def release(self) -> None:
        """One user less; the pool closes with the last one."""
        with self._shared_lock:
            self._users -= 1
            if self._users <= 0 and not self.closed:
                self.closed = True
                self.pool.close()
                if self._shared.get(self.url) is self:
                    del self._shared[self.url]

    @contextmanager
    def transaction(self, pipeline: bool = False) -> Iterator["object"]:
        """A connection in a transaction; nested calls on this thread join the outer one.

        ``pipeline``: statements are sent without waiting for each answer (psycopg's pipeline
        mode; a fetch waits for what it needs) and the COMMIT goes with the last of them. No COPY
        inside (``in_pipeline``)."""
        import psycopg
        current = getattr(self._local, "conn", None)
        if current is not None:                     # joined: pipelined from here on if asked and not yet
            with current.pipeline() if pipeline and not in_pipeline(current) else nullcontext():
                yield current
            return
        if self.closed:
            raise StorageError(f"PostgreSQL（{self.place}）のリポジトリは閉じられています。open_repository で開き直してください。")
        try:
            with self.pool.connection() as conn:
                self._local.conn = conn
                try:
                    with conn.pipeline() if pipeline else nullcontext(), conn.transaction():
                        yield conn
                finally:
                    self._local.conn = None
        except psycopg.OperationalError as err:
            raise unreachable(self.url, err) from None

    reading = transaction


def in_pipeline(conn) -> bool:
    """Is ``conn`` in pipeline mode (where COPY cannot run)?"""
    from psycopg import pq
    return conn.pgconn.pipeline_status != pq.PipelineStatus.OFF


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in order."""
    out = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        out.append((int(number), name, path.read_text(encoding="utf-8")))
    return out


def applied(conn) -> list[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return []
    return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def upgrade(db: Database) -> list[str]:
    """Apply the migrations this database lacks, in one transaction; returns their names.

    Two app instances starting at once: the advisory lock lets one migrate, the other then
    finds nothing to do. A database migrated by a newer app is refused, not guessed at.
    """
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                     "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        done = set(applied(conn))
        known = migrations()
        newer = sorted(done - {number for number, _, _ in known})
        if newer:
            raise StorageError(
                f"PostgreSQL（{db.place}）のスキーマは、このアプリより新しい版（{newer[-1]}）です。"
                "アプリを新しくしてから開いてください。")
        names = []
        for number, name, sql in known:
            if number not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, name))
                names.append(f"{number:04d}_{name}")
        return names
