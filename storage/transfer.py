"""Moving a whole store: the embedded folder into PostgreSQL (``tsunagu migrate``), and
PostgreSQL's logical backup and restore (``tsunagu backup`` / ``restore`` with a database).

A *snapshot* is every item of a store as plain records, exactly as stored (revisions,
timestamps, event numbers, the audit chain untouched): cases, events, versions, meta,
users, audit. Written into a database, it is one transaction into empty tables.

The PostgreSQL backup is a logical export, not pg_dump: a tar.gz in the same format as
the folder backup (MANIFEST.json with ``"source": "postgresql"``, one JSON-lines file per
table), read in one REPEATABLE READ snapshot so it is consistent while the app runs and
blocks no writer. It restores into any PostgreSQL (another version, a managed service)
and needs no client tools on the app server. pg_dump of the database works too.
"""
from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import StorageError

TABLES = ("cases", "events", "versions", "meta", "users", "audit")
NAMES = {"cases": "ケース", "events": "経過", "versions": "設定の版", "meta": "設定値", "users": "アカウント",
         "audit": "監査ログ"}


@dataclass
class Snapshot:
    """Every item of one store, as stored."""

    tables: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def counts(self) -> dict[str, int]:
        return {t: len(self.tables[t]) for t in TABLES}


def read_folder(data_dir: str | Path) -> Snapshot:
    """The embedded store in ``data_dir`` (TinyDB, users.json, audit/) under its writers' locks."""
    from storage.audit import AuditLog
    from storage.backup import _all_locks
    from storage.tinydb_store import TinyDBRepository, _raw_docs
    from storage.users import UserStore
    data = Path(data_dir)
    if not (data / "format.json").exists():
        raise StorageError(f"{data} につなぐのデータ（format.json）がありません。--data を確かめてください。")
    snap = Snapshot()
    repo = TinyDBRepository(data)          # finishes a change a killed writer left (journal.py)
    audit = AuditLog(data)                 # repairs a torn tail under its own lock, so before taking them all
    try:
        with _all_locks(data):
            snap.tables["cases"] = repo.list_cases()
            snap.tables["events"] = sorted((dict(doc) for storage in repo._events for doc in _raw_docs(storage, "events")),
                                           key=lambda e: (e["case_id"], e["seq"]))
            snap.tables["versions"] = repo.list_versions()
            snap.tables["meta"] = [dict(doc) for doc in _raw_docs(repo._meta, "meta")]
            snap.tables["users"] = list(UserStore(data)._load().values())
            snap.tables["audit"] = list(audit.entries())
    finally:
        repo.close()
    return snap


def read_database(url: str) -> Snapshot:
    """Every row of the database at ``url``, in one consistent snapshot."""
    from storage.pg_database import Database
    db = Database.open(url)
    snap = Snapshot()
    try:
        with db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snap.tables["cases"] = [r[0] for r in conn.execute("SELECT body FROM cases ORDER BY id")]
            snap.tables["events"] = [r[0] for r in conn.execute("SELECT body FROM events ORDER BY case_id, seq")]
            snap.tables["versions"] = [r[0] for r in conn.execute("SELECT body FROM versions ORDER BY saved_seq")]
            snap.tables["meta"] = [{"key": k, "value": v} for k, v in conn.execute("SELECT key, value FROM meta ORDER BY key")]
            snap.tables["users"] = [r[0] for r in conn.execute("SELECT body FROM users ORDER BY id")]
            snap.tables["audit"] = [r[0] for r in conn.execute("SELECT body FROM audit ORDER BY pos")]
    finally:
        db.release()
    return snap


def database_counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def write_database(url: str, snap: Snapshot, replace: bool = False) -> None:
    """Load ``snap`` into the database at ``url`` in one transaction.

    The target must be empty (a half-used database is refused, naming what it holds) unless
    ``replace``, which empties it first, in the same transaction.
    """
    from storage.audit import GENESIS
    from storage.pg_audit import LANES
    from storage.pg_database import Database
    from storage.postgres_store import copy_new_cases, jsonb
    db = Database.open(url)
    try:
        with db.transaction() as conn:
            conn.execute(f"LOCK TABLE {', '.join(TABLES)}, case_impact, audit_head IN ACCESS EXCLUSIVE MODE")
            held = {t: n for t, n in database_counts(conn).items() if n}
            if held and not replace:
                listed = "、".join(f"{NAMES[t]} {n} 件" for t, n in held.items())
                raise StorageError(f"移行先のデータベース（{db.place}）は空ではありません（{listed}）。"
                                   "空のデータベースを指定してください（tsunagu restore なら --force で中身を置き換えます）。何も書き込んでいません。")
            if held or replace:
                # Sessions never come back from a backup: whoever was logged in logs in again.
                # case_impact is derived from the cases (postgres_store.impact_row), written with them.
                conn.execute(f"TRUNCATE {', '.join(TABLES)}, case_impact, audit_head, sessions")
            t = snap.tables
            copy_new_cases(conn, t["cases"])
            with conn.cursor() as cur:
                with cur.copy("COPY events (case_id, seq, body) FROM STDIN") as copy:
                    for event in t["events"]:
                        copy.write_row((event["case_id"], event["seq"], jsonb(event)))
                cur.executemany("INSERT INTO versions (id, saved_seq, body) VALUES (%s, %s, %s)",
                                [(v["id"], v["saved_seq"], jsonb(v)) for v in t["versions"]])
                cur.executemany("INSERT INTO meta (key, value) VALUES (%s, %s)",
                                [(m["key"], jsonb(m["value"])) for m in t["meta"]])
                cur.executemany("INSERT INTO users (id, body) VALUES (%s, %s)", [(u["id"], jsonb(u)) for u in t["users"]])
                # Entries keep their lane (pg_audit.py; a folder's log is lane 0) and their order;
                # each lane's head is its last entry, and the lanes without entries start empty.
                heads = {lane: (0, GENESIS) for lane in range(LANES)}
                with cur.copy("COPY audit (lane, seq, pos, body) FROM STDIN") as copy:
                    for pos, entry in enumerate(t["audit"], 1):
                        lane = entry.get("lane", 0)
                        copy.write_row((lane, entry["seq"], pos, jsonb(entry)))
                        heads[lane] = (entry["seq"], entry["hash"])
                cur.execute("SELECT setval('audit_pos_seq', %s, false)", (len(t["audit"]) + 1,))
                cur.executemany("INSERT INTO audit_head (lane, seq, hash) VALUES (%s, %s, %s) "
                                "ON CONFLICT (lane) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
                                [(lane, seq, digest) for lane, (seq, digest) in sorted(heads.items())])
    except StorageError:
        raise
    except Exception as err:
        import psycopg
        if isinstance(err, psycopg.Error):
            raise StorageError(f"データベース（{db.place}）に書き込めませんでした（{str(err).strip()}）。"
                               "何も書き込んでいません。") from err
        raise
    finally:
        db.release()


def check_audit(where: str, label: str) -> int:
    """Verify the audit chain at ``where``; StorageError naming the side when it is broken."""
    from storage import open_audit
    log = open_audit(where)
    try:
        verdict = log.verify()
    finally:
        getattr(log, "close", lambda: None)()
    if not verdict.ok:
        raise StorageError(f"{label}の監査ログが正しくつながっていません: {verdict.message}")
    return verdict.entries


def migrate(data_dir: str | Path, url: str) -> dict[str, int]:
    """Copy the embedded store in ``data_dir`` into the empty database at ``url``; verify both sides.

    The source's audit chain is checked before anything is written; afterwards the target's
    counts must equal the source's, table by table, and its chain must verify too.
    """
    check_audit(str(data_dir), f"移行元（{data_dir}）")
    snap = read_folder(data_dir)
    write_database(url, snap)
    compare(snap, read_database(url), "移行先")
    check_audit(url, "移行先")
    return snap.counts()


def compare(expected: Snapshot, got: Snapshot, label: str) -> None:
    mismatched = [f"{NAMES[t]} {expected.counts()[t]} 件 → {got.counts()[t]} 件"
                  for t in TABLES if expected.counts()[t] != got.counts()[t]]
    if mismatched:
        raise StorageError(f"{label}の件数が合いません（{'、'.join(mismatched)}）。")


# -- logical backup of a database ------------------------------------------------------------------
def backup_database(url: str, out: str | Path) -> dict:
    """Write ``out`` (tar.gz): MANIFEST.json and one JSON-lines file per table, from one snapshot."""
    snap = read_database(url)
    manifest = {"format": "tsunagu-backup", "version": 1, "source": "postgresql",
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "files": len(TABLES), "counts": snap.counts()}
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        def add(name: str, blob: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(blob), 0o600
            tar.addfile(info, io.BytesIO(blob))
        add("MANIFEST.json", json.dumps(manifest, ensure_ascii=False).encode())
        for table in TABLES:
            add(f"postgresql/{table}.jsonl",
                "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in snap.tables[table]).encode())
    tmp.replace(out)
    return manifest


def restore_database(archive: str | Path, url: str, force: bool = False) -> dict:
    """Load a PostgreSQL backup into the database at ``url`` (empty, or emptied with ``force``); verify it."""
    archive = Path(archive)
    snap = Snapshot()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.loads(tar.extractfile("MANIFEST.json").read())
            if manifest.get("format") != "tsunagu-backup":
                raise StorageError(f"{archive} はつなぐのバックアップではありません。")
            if manifest.get("source") != "postgresql":
                raise StorageError(f"{archive} はデータのフォルダのバックアップです。フォルダに復元して（--data）から、"
                                   "tsunagu migrate --data フォルダ --to URL でデータベースに移してください。")
            for table in TABLES:
                text = tar.extractfile(f"postgresql/{table}.jsonl").read().decode("utf-8")
                snap.tables[table] = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (tarfile.TarError, KeyError, OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StorageError(f"{archive} を読めません（{err}）。ファイルが壊れていないか確かめてください。") from err
    if snap.counts() != manifest.get("counts"):
        raise StorageError(f"{archive} の中身の件数が目録（MANIFEST.json）と合いません。ファイルが壊れています。")
    write_database(url, snap, replace=force)
    compare(snap, read_database(url), "復元先")
    check_audit(url, "復元先")
    return manifest
