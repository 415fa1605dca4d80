"""The repository on PostgreSQL (psycopg 3 and psycopg_pool), for several app instances on one database.

Tables ``cases``, ``events``, ``versions``, ``meta`` (the live-version pointer is a
compare-and-set row here), ``users`` and ``audit``, one row per item, created and migrated
by the app (storage/migrations/). Every write is one transaction; what would be a process
lock in the file stores is a lock the database holds, so two app processes are safe:

- a case's revision check and write, and its events' numbering: a transaction-scoped
  advisory lock on the case id (it also covers a case that does not exist yet);
- config versions' saving order and a meta compare-and-set: advisory locks likewise;
- the audit chain's heads: a row lock on one of the ``audit_head`` lanes, one that no other
  transaction holds (storage/pg_audit.py).

Cases are JSONB plus real columns (status, 受付日, area, priority, decision ids, who took it,
a folded name for search) that ``columns()`` fills at every save, so the case list and the
dashboard can filter, count and page in SQL (storage/pg_queries.py). What only the impact
preview reads (the intake, the stored decision's digest) is a row of ``case_impact`` beside
the case (``impact_row()``), saved with it in the same transaction.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Iterator, Sequence

from psycopg.types.json import Jsonb

from storage.case_fields import (agencies_of, as_mapping, confirmed_latest, consent_marks, as_str, decision_digest, fold,
                                 ids_of, is_mapping,
                                 owner_ids, pending_referrals,
                                 priority_of, received_on, referral_due, referral_parties, routed_meetings, routing_of, status_of,
                                 status_since_day)
from engine.errors import StorageError
from storage import records
from storage.audit import PendingEntry
from storage.base import UNSET, Repository
from storage.pg_database import Database, in_pipeline, is_url

# Advisory lock namespaces (first key of the two-key form).
CASE_LOCK, VERSION_LOCK, META_LOCK = 7401, 7402, 7403

CASE_COLUMNS = ("id", "revision", "body", "status", "received_on", "area", "priority", "programs", "agencies",
                 "meetings", "created_by", "receiving_agency", "consent", "config_version", "search", "channel",
                 "plan_made_on", "meetings_done", "routed_meetings", "seen_by", "consents", "status_since",
                 "referral_due", "owner_worker", "owner_agency", "referral_parties", "pending_referrals",
                 "confirmed_latest")
# What only the impact preview reads, beside the case (migration 0009): kept out of ``cases`` so
# the dashboard's and the case list's scans read half the pages.
IMPACT_COLUMNS = ("id", "intake", "decision_digest")


def _upsert(table: str, names: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) "
            f"ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in names[1:]))


_UPSERT, _UPSERT_IMPACT = _upsert("cases", CASE_COLUMNS), _upsert("case_impact", IMPACT_COLUMNS)


_CASE_AND_LAST_EVENT = ("SELECT (SELECT body FROM cases WHERE id = %s), "
                        "(SELECT COALESCE(MAX(seq), 0) FROM events WHERE case_id = %s)")

_EXPONENT = re.compile(r"[0-9]e[-+]?[0-9]")


def _plain_float(value: float) -> str:
    """A float in positional notation with a decimal point: JSONB's numeric keeps "…0.0" as written,
    so it comes back a float; "2.3e+16" would come back as the integer 23000000000000000.

    >>> _plain_float(2.5e16), _plain_float(1e-7), _plain_float(0.5)
    ('25000000000000000.0', '0.0000001', '0.5')
    """
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def dumps(value: Any) -> str:
    """JSON text for JSONB that brings every float back as a float (see ``_plain_float``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not _EXPONENT.search(text):          # the usual case: no float in exponent notation
        return text
    encode = json.encoder._make_iterencode(
        {}, lambda o: (_ for _ in ()).throw(TypeError(o)), json.encoder.py_encode_basestring, None,
        _plain_float, ":", ",", False, False, True)
    return "".join(encode(value, 0))


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=dumps)


def columns(record: dict) -> tuple:
    """The row for ``record``: its JSONB body and the columns lists filter and sort by.

    Programs, agencies and meetings are the routing that counts (confirmed, else recommended);
    ``routed_meetings`` and ``seen_by`` are what engine/casework/access.py decides visibility by;
    ``status_since``, ``referral_due`` and the owner's ids what engine/casework/duties.py reads.
    """
    intake, routing = as_mapping(record.get("intake")), routing_of(record)
    person, plan = as_mapping(intake.get("person")), record.get("plan")
    plan_made_on = (as_str(plan.get("made_on")) or received_on(record)) if is_mapping(plan) and plan else None
    done = record.get("meetings_done")
    return (record["id"], record["revision"], jsonb(record), status_of(record), received_on(record),
            as_str(intake.get("area")), priority_of(record), ids_of(routing.get("programs")),
            ids_of(routing.get("agencies")), ids_of(routing.get("meetings")), as_str(record.get("created_by")),
            as_str(intake.get("receiving_agency")), as_str(intake.get("consent")),
            as_str(record.get("config_version")),
            fold(person.get("name")) + "\n" + fold(person.get("kana")), as_str(intake.get("channel")), plan_made_on,
            jsonb(done) if isinstance(done, list) and done else None,
            sorted(routed_meetings(record)), sorted(a for a in agencies_of(record) if isinstance(a, str)),
            jsonb(consent_marks(intake)), status_since_day(record), referral_due(record), *owner_ids(record),
            referral_parties(record), pending_referrals(record), confirmed_latest(record))


def impact_row(record: dict) -> tuple:
    """The ``case_impact`` row for ``record``: its intake as stored (NULL without one) and its
    stored decision's digest (case_fields.decision_digest)."""
    return record["id"], jsonb(record["intake"]) if "intake" in record else None, jsonb(decision_digest(record))


def upsert_cases(conn, rows: Sequence[dict]) -> None:
    """Insert or replace ``rows`` (stored case records) and their ``case_impact`` rows."""
    with conn.cursor() as cur:
        cur.executemany(_UPSERT, [columns(r) for r in rows])
        cur.executemany(_UPSERT_IMPACT, [impact_row(r) for r in rows])


def copy_new_cases(conn, rows: Sequence[dict]) -> None:
    """COPY ``rows`` (cases not yet in the database) and their ``case_impact`` rows in."""
    with conn.cursor() as cur:
        with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
            for record in rows:
                copy.write_row(columns(record))
        with cur.copy(f"COPY case_impact ({', '.join(IMPACT_COLUMNS)}) FROM STDIN") as copy:
            for record in rows:
                copy.write_row(impact_row(record))


class PostgresRepository(Repository):
    """Repository in the PostgreSQL database at ``url`` (postgresql://user:password@host:port/name)."""

    def __init__(self, url: str):
        if not is_url(url):
            raise StorageError(f"PostgreSQL の保存先は postgresql:// で始まる URL で指定してください（渡された値: {url!r}）。")
        self.url = url
        self.db: Database | None = Database.open(url)
        self.place = self.db.place

    # -- transactions ----------------------------------------------------------
    def atomic(self):
        """``with repo.atomic():`` — every store call inside (cases, events, audit) commits together."""
        return self._db().transaction()

    @contextmanager
    def _tx(self, pipeline: bool = False) -> Iterator[Any]:
        with self._db().transaction(pipeline) as conn:
            try:
                yield conn
            except StorageError:
                raise
            except Exception as err:
                import psycopg
                if isinstance(err, psycopg.Error):
                    raise StorageError(f"PostgreSQL（{self.place}）での読み書きに失敗しました（{str(err).strip()}）。"
                                       "何も保存されていません。もう一度操作してください。") from err
                raise

    def _db(self) -> Database:
        if self.db is None:
            raise StorageError(f"PostgreSQL（{self.place}）のリポジトリは閉じられています。open_repository で開き直してください。")
        return self.db

    @staticmethod
    def _lock(conn, space: int, key: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (space, key))

    # -- cases ---------------------------------------------------------------
    def save_case(self, case: dict, expected_revision: int | None = None) -> dict:
        records.require_dict(case, "ケース")
        with self._tx() as conn:
            case_id = records.case_id_of(case) or records.new_case_id(lambda c: self._case(conn, c) is not None)
            self._lock(conn, CASE_LOCK, case_id)
            record = records.next_case(case, case_id, self._case(conn, case_id), expected_revision)
            upsert_cases(conn, [record])
            return record

    def get_case(self, case_id: str) -> dict | None:
        with self._tx() as conn:
            return self._case(conn, case_id)

    def list_cases(self) -> list[dict]:
        with self._tx() as conn:
            return [row[0] for row in conn.execute("SELECT body FROM cases ORDER BY id")]

    def count_cases(self) -> int:
        with self._tx() as conn:
            return conn.execute("SELECT count(*) FROM cases").fetchone()[0]

    def delete_case(self, case_id: str) -> bool:
        with self._tx() as conn:
            self._lock(conn, CASE_LOCK, case_id)
            return conn.execute("DELETE FROM cases WHERE id = %s", (case_id,)).rowcount > 0

    def save_cases_bulk(self, cases: list[dict], events: Sequence[tuple[str, dict]] = (),
                        audit: Sequence[PendingEntry] = ()) -> list[dict]:
        """One transaction: the cases, then their events, then the audit entries."""
        for case in cases:
            records.require_dict(case, "ケース")
        with self._audited(audit) as (conn, log):
            given = [records.case_id_of(c) for c in cases]
            current = {row[0]["id"]: row[0] for row in conn.execute(
                "SELECT body FROM cases WHERE id = ANY(%s)", ([i for i in given if i],))}
            stored: dict[str, dict] = {}
            for case, case_id in zip(cases, given):
                case_id = case_id or records.new_case_id(
                    lambda c: c in stored or c in current or self._case(conn, c) is not None)
                stored[case_id] = records.next_case(case, case_id, stored.get(case_id) or current.get(case_id), None)
            if current:
                for case_id in sorted(current):
                    self._lock(conn, CASE_LOCK, case_id)
                upsert_cases(conn, [r for i, r in stored.items() if i in current])
            copy_new_cases(conn, [r for i, r in stored.items() if i not in current])
            self._add_events(conn, events, fresh=stored.keys() - current.keys())
            log()
        return list(stored.values())

    def save_case_with_events(self, case: dict, events: list[dict], expected_revision: int | None = None,
                              audit: PendingEntry | None = None) -> dict:
        """One transaction: the case, its events and its audit entry (see ``_audited``).

        Pipelined, so that a lane of the audit chain (pg_audit.py) is held briefly: the case lock
        and the reads go in one round trip, the case, its events and the lane's lock in the next,
        the audit entry in the last, so the lane is held for one round trip and the commit rather
        than for every statement of the change.
        """
        records.require_dict(case, "ケース")
        given = records.case_id_of(case)
        with self._audited(audit, pipeline=True) as (conn, log):
            while True:
                case_id = given or records.new_case_id()
                self._lock(conn, CASE_LOCK, case_id)
                current, seq = conn.execute(_CASE_AND_LAST_EVENT, (case_id, case_id)).fetchone()
                if given or current is None:         # a fresh id that is taken: draw another
                    break
            record = records.next_case(case, case_id, current, expected_revision)
            upsert_cases(conn, [record])
            self._insert_events(conn, [records.next_event(case_id, event, seq + i) for i, event in enumerate(events, 1)])
            log(case_id=case_id)
        return record

    @contextmanager
    def _audited(self, audit: PendingEntry | Sequence[PendingEntry] | None,
                 pipeline: bool = False) -> Iterator[tuple[Any, Any]]:
        """A transaction and ``log(**more)``, which writes the change's audit entries inside it:
        they commit with the change, or nothing does."""
        entries = [] if audit is None else [audit] if isinstance(audit, PendingEntry) else list(audit)
        for entry in entries:
            self.check_audit(entry.log)

        def log(**more: Any) -> None:
            for entry in entries:
                entry.log.append(entry.actor, entry.action, **more, **entry.fields)
        with self._tx(pipeline) as conn:
            yield conn, log

    def check_audit(self, log: Any) -> None:
        """Refuse an audit log kept anywhere but this database: its entries could not commit with
        the changes they record (a change saved without its entry, or an entry for a change that
        never was)."""
        if getattr(log, "db", None) is not self._db():
            raise StorageError(
                f"PostgreSQL（{self.place}）のデータには、同じデータベースの監査ログしか使えません"
                f"（渡された監査ログ: {getattr(log, 'path', log)}）。変更とその記録を1つのトランザクションに"
                "できないためです。監査ログは同じ URL で開いてください（open_audit に同じ postgresql:// の URL を渡す）。"
                "何も保存していません。")

    # -- events --------------------------------------------------------------
    def add_event(self, case_id: str, event: dict) -> dict:
        with self._tx() as conn:
            self._lock(conn, CASE_LOCK, case_id)
            if self._case(conn, case_id) is None:
                raise records.missing_case(case_id)
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE case_id = %s",
                               (case_id,)).fetchone()[0]
            record = records.next_event(case_id, event, seq)
            self._insert_events(conn, [record])
            return record

    def add_events_bulk(self, events: list[tuple[str, dict]], audit: Sequence[PendingEntry] = ()) -> int:
        with self._audited(audit) as (conn, log):
            count = self._add_events(conn, events)
            log()
        return count

    def _add_events(self, conn, events: Sequence[tuple[str, dict]], fresh: Any = frozenset()) -> int:
        """Append ``(case_id, event)`` pairs, each case's seqs continuing its history. Cases
        ``fresh`` (inserted by this transaction, unseen by others) need no lock: thousands of
        advisory locks in one transaction would fill the lock table."""
        ids = sorted({case_id for case_id, _ in events})
        if not ids:
            return 0
        for case_id in ids:
            if case_id not in fresh:
                self._lock(conn, CASE_LOCK, case_id)
        known = {row[0] for row in conn.execute("SELECT id FROM cases WHERE id = ANY(%s)", (ids,))}
        seqs = dict(conn.execute("SELECT case_id, MAX(seq) FROM events WHERE case_id = ANY(%s) GROUP BY case_id",
                                 (ids,)).fetchall())
        rows = []
        for case_id, event in events:
            if case_id not in known:
                raise records.missing_case(case_id)
            seqs[case_id] = seqs.get(case_id, 0) + 1
            rows.append(records.next_event(case_id, event, seqs[case_id]))
        self._insert_events(conn, rows)
        return len(rows)

    @staticmethod
    def _insert_events(conn, rows: list[dict]) -> None:
        with conn.cursor() as cur:
            if len(rows) < 20 or in_pipeline(conn):
                cur.executemany("INSERT INTO events (case_id, seq, body) VALUES (%s, %s, %s)",
                                [(r["case_id"], r["seq"], jsonb(r)) for r in rows])
                return
            with cur.copy("COPY events (case_id, seq, body) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["case_id"], r["seq"], jsonb(r)))

    def events(self, case_id: str) -> list[dict]:
        with self._tx() as conn:
            return [row[0] for row in conn.execute("SELECT body FROM events WHERE case_id = %s ORDER BY seq",
                                                   (case_id,))]

    # -- config versions -----------------------------------------------------
    def save_version(self, version: dict) -> dict:
        version_id = records.version_id_of(version)
        record = records.json_copy(version)
        with self._tx() as conn:
            self._lock(conn, VERSION_LOCK, "")
            row = conn.execute("SELECT body FROM versions WHERE id = %s", (version_id,)).fetchone()
            if row is not None:
                return row[0]
            record["saved_seq"] = conn.execute("SELECT COALESCE(MAX(saved_seq), 0) + 1 FROM versions").fetchone()[0]
            record.setdefault("saved_at", records.now_iso())
            conn.execute("INSERT INTO versions (id, saved_seq, body) VALUES (%s, %s, %s)",
                         (version_id, record["saved_seq"], jsonb(record)))
            return record

    def get_version(self, version_id: str) -> dict | None:
        with self._tx() as conn:
            row = conn.execute("SELECT body FROM versions WHERE id = %s", (version_id,)).fetchone()
            return row[0] if row is not None else None

    def list_versions(self) -> list[dict]:
        with self._tx() as conn:
            return [row[0] for row in conn.execute("SELECT body FROM versions ORDER BY saved_seq")]

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
            return row[0] if row is not None else default

    def set_meta(self, key: str, value: Any, expected: Any = UNSET, audit: PendingEntry | None = None) -> None:
        value = records.json_copy(value, key)
        with self._audited(audit) as (conn, log):
            self._lock(conn, META_LOCK, key)
            if expected is not UNSET:
                row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
                records.check_meta(key, expected, row[0] if row is not None else None)
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                         "SET value = EXCLUDED.value", (key, jsonb(value)))
            log()

    # -- questions answered in SQL (storage/pg_queries.py) --------------------------------
    def sql(self):
        """``with repo.sql() as conn:`` a connection for pg_queries (one transaction)."""
        return self._tx()

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        if self.db is not None:
            self.db.release()
            self.db = None

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _case(conn, case_id: str) -> dict | None:
        if not isinstance(case_id, str):
            raise StorageError(f"ケースの id は文字列で渡してください（渡された値: {case_id!r}）。")
        row = conn.execute("SELECT body FROM cases WHERE id = %s", (case_id,)).fetchone()
        return row[0] if row is not None else None
