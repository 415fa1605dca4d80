"""The default backend: TinyDB files under a data directory, sharded so writes stay small.

Layout (``format.json`` records the shard count, so a later open with another
count cannot scatter lookups)::

    data/.lock                  file lock for writers (see locking.py)
    data/format.json            TinyDB table "format": {"name": "tsunagu-tinydb", "version": 1, "shards": 256}
    data/cases/00.json …        TinyDB table "cases", case picked by crc32(id) % shards
    data/events/00.json …       TinyDB table "events", same shard number as the case
    data/list/00.json …         the case list's index of each case shard (list_index.py)
    data/versions.json          TinyDB table "versions"
    data/meta.json              TinyDB table "meta"
    data/journal.json           the change being written, while it is written (journal.py)

A save rewrites one shard (about 1/256 of the cases: ~80 at 20,000), not the whole history.
A case saved with its events (and its audit entry) goes through the write-ahead journal, so
it lands whole or not at all; a journal a killed writer left is applied again, under the
write lock, at open and before any other write.
"""
from __future__ import annotations

import secrets
import time
import zlib
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any, Callable, Hashable, Iterator, Sequence

from tinydb import Query
from tinydb.table import Table

from engine.errors import StorageError
from storage import list_index, records
from storage.atomic_json import AtomicJSONStorage, remove_leftover_temps
from storage.audit import PendingEntry, append_pending
from storage.collector import collection_paused
from storage.journal import Journal
from storage.base import UNSET, Repository
from storage.locking import RepoLock
from storage.private import make_dir

FORMAT = "tsunagu-tinydb"
DEFAULT_SHARDS = 256
#: Remembered per-shard answers (read_shards) before all are forgotten: 256 shards × ~80 views.
MAX_SHARD_ANSWERS = 20_000
_Q = Query()


class TinyDBRepository(Repository):
    """Repository on sharded TinyDB files; safe across threads and processes."""

    def __init__(self, data_dir: str | Path, shards: int | None = None):
        self.data_dir = Path(data_dir)
        for sub in ("", "cases", "events", "list"):
            make_dir(self.data_dir / sub)
        self._lock = RepoLock(self.data_dir / ".lock")
        self._journal = Journal(self.data_dir)
        try:
            with self._lock.writing():
                for sub in ("", "cases", "events", "list"):
                    remove_leftover_temps(self.data_dir / sub)
                self.shards = self._layout(shards)
                self._open_files()
                self._replay()
        except BaseException:
            self._lock.close()
            raise

    def _open_files(self) -> None:
        # (shard, view key) → (the shard file's version, the view's answer): see read_shards.
        self._shard_answers: dict[tuple[int, Hashable], tuple[tuple, Any]] = {}
        # shard → (the shard's version, its index's projections): see _list_rows.
        self._indexed: dict[int, tuple[tuple, list[dict]]] = {}
        self._cases = [AtomicJSONStorage(self.data_dir / "cases" / f"{i:02d}.json", partial(self._write_index, i))
                       for i in range(self.shards)]
        self._events = [AtomicJSONStorage(self.data_dir / "events" / f"{i:02d}.json") for i in range(self.shards)]
        self._versions = AtomicJSONStorage(self.data_dir / "versions.json")
        self._meta = AtomicJSONStorage(self.data_dir / "meta.json")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The write lock, with any change a killed writer left applied first (one stat when none)."""
        with self._lock.writing():
            self._replay()
            yield

    # -- cases ---------------------------------------------------------------
    def save_case(self, case: dict, expected_revision: int | None = None) -> dict:
        records.require_dict(case, "ケース")
        with self._writing():
            case_id = records.case_id_of(case) or records.new_case_id(self._has_case)
            storage = self._case_shard(case_id)
            table = _table(storage, "cases")
            current = table.get(_Q.id == case_id)
            record = records.next_case(case, case_id, current, expected_revision)
            with _dropping_cache_on_error(storage):
                if current is None:
                    table.insert(record)
                else:
                    table.update(_replace_with(record), doc_ids=[current.doc_id])
            return records.fast_copy(record)

    def get_case(self, case_id: str) -> dict | None:
        with self._lock.reading():
            found = _table(self._case_shard(case_id), "cases").get(_Q.id == case_id)
            return records.fast_copy(dict(found)) if found is not None else None

    def list_cases(self) -> list[dict]:
        with self._lock.reading():
            # Straight from the parsed shards: Table.all() would build a Document
            # per record only for us to copy it again.
            out = [records.fast_copy(doc) for storage in self._cases for doc in _raw_docs(storage, "cases")]
        out.sort(key=lambda case: case["id"])
        return out

    def read_cases(self, view):
        with self._lock.reading():
            return view([doc for storage in self._cases for doc in _raw_docs(storage, "cases")])

    def read_shards(self, view: Callable[[list[dict]], Any], key: Hashable, listed: bool = False,
                    then: Callable[[list], Any] | None = None) -> Any:
        """``view`` of each shard's cases, one answer per shard, each remembered while its shard's
        file is unchanged: after one case is saved, only its shard is read again.

        ``key`` names the view together with everything else its answer depends on (the user,
        the period, the pack version); the answers are shared between calls, so nobody may
        change them. Used where a page reads every case on each rerun (the dashboard).
        ``listed``: the view reads only what the case list reads, so a shard not in memory is
        read from its index (list_index.py) instead of parsed; an answer made from an index is made
        again once the shard is in memory, so that it does not keep the index's rows alive. One
        collector pause for all shards: a pause per shard ended in a young collection walking what
        that shard's index had just made (0.5 s over 256 shards).
        ``then``: called with the answers, still under the lock, and what it returns is returned
        (for a view whose answer holds the cases themselves, which a write edits in place).
        """
        answers = self._shard_answers
        if len(answers) > MAX_SHARD_ANSWERS:      # views of users and periods long gone
            answers.clear()
        out = []
        with self._lock.reading(), collection_paused() if listed else nullcontext():
            for index, storage in enumerate(self._cases):
                if listed:
                    version, cases = self._list_rows(index)
                else:
                    data, version = storage.read_versioned()
                    cases = list(((data or {}).get("cases") or {}).values())
                found = answers.get((index, key))
                if found is None or found[0] != version or version is None:
                    found = (version, view(cases))
                    if version is not None:
                        answers[(index, key)] = found
                out.append(found[1])
            return then(out) if then is not None else out

    # -- the case list's index (list_index.py) --------------------------------------------
    def _list_rows(self, index: int) -> tuple[tuple | None, list[dict]]:
        """(the shard's version, its cases) or, from its index, (the version marked "index", their
        projections); the shard is parsed only when its index is missing or was made from another
        version of it."""
        storage = self._cases[index]
        data, version = storage.peek()
        if data is None and version is not None:
            kept = self._indexed.get(index)
            rows = kept[1] if kept is not None and kept[0] == version else \
                list_index.read(list_index.path_for(storage.path), version)
            if rows is not None:
                self._indexed[index] = (version, rows)
                return (*version, "index"), rows
            data, version = storage.read_versioned()
        self._indexed.pop(index, None)           # the shard itself is in memory now
        return version, list(((data or {}).get("cases") or {}).values())

    def _write_index(self, index: int, data: dict, version: tuple) -> None:
        """The shard's index, made from what was written; after the shard's write, under the write lock."""
        self._indexed.pop(index, None)
        path = list_index.path_for(self._cases[index].path)
        try:
            list_index.write(path, version, list((data.get("cases") or {}).values()))
        except OSError:
            # A cache: the stale index names the old version, so it would be ignored; but it still
            # holds what the save changed or deleted (a corrected name, an erased case). Removed.
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass

    def warm_shards(self, pause: float = 0.0) -> int:
        """Parse every case shard into memory, one at a time, and write the index of any that has
        none for its present version (a store from before the index, a restored backup, a crash
        between a shard and its index); returns how many cases there are.

        Each shard is read under the lock on its own and ``pause`` seconds are left between two,
        so a page that reads meanwhile (the warm-up runs in the background as the app starts,
        storage.warm_up_later) waits for one shard at most.
        """
        count = 0
        for index, storage in enumerate(self._cases):
            with self._lock.reading():
                data, version = storage.read_versioned()
                self._indexed.pop(index, None)
                count += len((data or {}).get("cases") or {})
            if data is not None and version is not None and \
                    not list_index.is_fresh(list_index.path_for(storage.path), version):
                with self._writing():
                    data, version = storage.read_versioned()      # as it is under the write lock
                    if data is not None and version is not None:
                        self._write_index(index, data, version)
            if pause:
                time.sleep(pause)
        return count

    def count_cases(self) -> int:
        with self._lock.reading():
            return sum(len(_raw_docs(storage, "cases")) for storage in self._cases)

    def delete_case(self, case_id: str) -> bool:
        with self._writing():
            # Events first: if the process dies in between, the case is still
            # listed and deleting it again finishes the job; the other order
            # could leave a history nobody can see or delete.
            events = self._events[self._shard_of(case_id)]
            doomed = [doc.doc_id for doc in _table(events, "events").search(_Q.case_id == case_id)]
            if doomed:
                with _dropping_cache_on_error(events):
                    _table(events, "events").remove(doc_ids=doomed)
            storage = self._case_shard(case_id)
            found = _table(storage, "cases").get(_Q.id == case_id)
            if found is None:
                return False
            with _dropping_cache_on_error(storage):
                _table(storage, "cases").remove(doc_ids=[found.doc_id])
            return True

    def save_cases_bulk(self, cases: list[dict], events: Sequence[tuple[str, dict]] = (),
                        audit: Sequence[PendingEntry] = ()) -> list[dict]:
        with self._writing():
            change = self._bulk_change(cases, events, audit)
            self._journal.write(change)
            self._apply(change, replaying=False)
            return [records.fast_copy(record) for record in change["cases"]]

    def _bulk_change(self, cases: list[dict], events: Sequence[tuple[str, dict]],
                     audit: Sequence[PendingEntry]) -> dict:
        """A bulk write as one journaled change: the final records, the numbered events and the
        audit entries. Worked out whole before anything is written, so a case or event that
        cannot be stored fails the call without a partial load."""
        stored_docs: dict[int, dict[str, dict]] = {}

        def stored_in(shard: int) -> dict[str, dict]:
            if shard not in stored_docs:
                stored_docs[shard] = {doc["id"]: doc for doc in _raw_docs(self._cases[shard], "cases")}
            return stored_docs[shard]

        final: dict[str, dict] = {}
        for case in cases:
            records.require_dict(case, "ケース")
            case_id = records.case_id_of(case) or records.new_case_id(
                lambda c: c in final or c in stored_in(self._shard_of(c)))
            current = final.get(case_id) or stored_in(self._shard_of(case_id)).get(case_id)
            final[case_id] = records.next_case(case, case_id, current, None)
        last_seq: dict[int, dict[str, int]] = {}
        seqs: dict[str, int] = {}
        rows = []
        for case_id, event in events:
            if case_id not in seqs:
                shard = self._shard_of(case_id)
                if case_id not in final and case_id not in stored_in(shard):
                    raise records.missing_case(case_id)
                if shard not in last_seq:
                    last_seq[shard] = {}
                    for doc in _raw_docs(self._events[shard], "events"):
                        last_seq[shard][doc["case_id"]] = max(last_seq[shard].get(doc["case_id"], 0), doc["seq"])
                seqs[case_id] = last_seq[shard].get(case_id, 0)
            seqs[case_id] += 1
            rows.append(records.next_event(case_id, event, seqs[case_id]))
        return {"change": secrets.token_hex(8), "cases": list(final.values()), "events": rows,
                "audit": [entry.to_json() for entry in audit]}

    def save_case_with_events(self, case: dict, events: list[dict], expected_revision: int | None = None,
                              audit: PendingEntry | None = None) -> dict:
        records.require_dict(case, "ケース")
        with self._writing():
            case_id = records.case_id_of(case) or records.new_case_id(self._has_case)
            shard = self._shard_of(case_id)
            current = _table(self._cases[shard], "cases").get(_Q.id == case_id)
            record = records.next_case(case, case_id, current, expected_revision)
            seq = max((doc["seq"] for doc in _table(self._events[shard], "events").search(_Q.case_id == case_id)),
                      default=0)
            rows = [records.next_event(case_id, event, seq + i) for i, event in enumerate(events, 1)]
            change = {"change": secrets.token_hex(8), "case": record, "events": rows,
                      "audit": audit.to_json(case_id=case_id) if audit is not None else None}
            self._journal.write(change)
            self._apply(change, replaying=False)
            return records.fast_copy(record)

    def _replay(self) -> None:
        """Finish the change a killed writer left in the journal (call under the write lock)."""
        change = self._journal.pending()
        if change is not None:
            self._apply(change, replaying=True)

    def _apply(self, change: dict, replaying: bool) -> None:
        """Write a journaled change: events, then the case, then the audit entry; then forget it.

        Idempotent, so a change applied half-way before a crash is simply applied again.
        A meta change (``set_meta`` with an audit entry) writes the value, then the entry.
        """
        if "meta" in change:
            self._write_meta(change["meta"]["key"], change["meta"]["value"])
        elif "cases" in change:
            self._apply_bulk(change)
        else:
            self._apply_case(change)
        entries = change.get("audit")
        if isinstance(entries, list):             # a bulk write's entries: one change id each
            for i, entry in enumerate(entries, 1):
                append_pending(entry, f"{change['change']}-{i}", replaying)
        elif entries:
            append_pending(entries, change["change"], replaying)
        self._journal.clear()

    def _apply_case(self, change: dict) -> None:
        record = change["case"]
        shard = self._shard_of(record["id"])
        events = self._events[shard]
        table = _table(events, "events")
        have = {doc["seq"] for doc in table.search(_Q.case_id == record["id"])}
        rows = [row for row in change["events"] if row["seq"] not in have]
        if rows:
            with _dropping_cache_on_error(events):
                table.insert_multiple(rows)
        storage = self._cases[shard]
        cases = _table(storage, "cases")
        current = cases.get(_Q.id == record["id"])
        with _dropping_cache_on_error(storage):
            if current is None:
                cases.insert(record)
            elif dict(current) != record:
                cases.update(_replace_with(record), doc_ids=[current.doc_id])

    def _apply_bulk(self, change: dict) -> None:
        """A bulk write, shard by shard: its events, then its cases (as ``_apply_case``)."""
        events: dict[int, list[dict]] = {}
        cases: dict[int, list[dict]] = {}
        for row in change["events"]:
            events.setdefault(self._shard_of(row["case_id"]), []).append(row)
        for record in change["cases"]:
            cases.setdefault(self._shard_of(record["id"]), []).append(record)
        for shard in sorted(events.keys() | cases.keys()):
            if shard in events:
                _upsert_docs(self._events[shard], "events", events[shard], lambda doc: (doc["case_id"], doc["seq"]))
            if shard in cases:
                _upsert_docs(self._cases[shard], "cases", cases[shard], lambda doc: doc["id"])

    # -- events --------------------------------------------------------------
    def add_event(self, case_id: str, event: dict) -> dict:
        with self._writing():
            if not self._has_case(case_id):
                raise records.missing_case(case_id)
            storage = self._events[self._shard_of(case_id)]
            table = _table(storage, "events")
            seq = max((doc["seq"] for doc in table.search(_Q.case_id == case_id)), default=0) + 1
            record = records.next_event(case_id, event, seq)
            with _dropping_cache_on_error(storage):
                table.insert(record)
            return records.fast_copy(record)

    def add_events_bulk(self, events: list[tuple[str, dict]], audit: Sequence[PendingEntry] = ()) -> int:
        with self._writing():
            change = self._bulk_change([], events, audit)
            self._journal.write(change)
            self._apply(change, replaying=False)
            return len(change["events"])

    def events(self, case_id: str) -> list[dict]:
        with self._lock.reading():
            found = _table(self._events[self._shard_of(case_id)], "events").search(_Q.case_id == case_id)
            return [records.fast_copy(dict(doc)) for doc in sorted(found, key=lambda doc: doc["seq"])]

    # -- config versions -----------------------------------------------------
    def save_version(self, version: dict) -> dict:
        version_id = records.version_id_of(version)
        with self._writing():
            table = _table(self._versions, "versions")
            existing = table.get(_Q.id == version_id)
            if existing is not None:
                return records.fast_copy(dict(existing))
            record = records.json_copy(version)
            record["saved_seq"] = max((doc["saved_seq"] for doc in table), default=0) + 1
            record.setdefault("saved_at", records.now_iso())
            with _dropping_cache_on_error(self._versions):
                table.insert(record)
            return records.fast_copy(record)

    def get_version(self, version_id: str) -> dict | None:
        with self._lock.reading():
            found = _table(self._versions, "versions").get(_Q.id == version_id)
            return records.fast_copy(dict(found)) if found is not None else None

    def list_versions(self) -> list[dict]:
        with self._lock.reading():
            docs = _raw_docs(self._versions, "versions")
            return [records.fast_copy(doc) for doc in sorted(docs, key=lambda doc: doc["saved_seq"])]

    # -- meta ----------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        with self._lock.reading():
            found = _table(self._meta, "meta").get(_Q.key == key)
            return records.fast_copy(found["value"]) if found is not None else default

    def set_meta(self, key: str, value: Any, expected: Any = UNSET, audit: PendingEntry | None = None) -> None:
        value = records.json_copy(value, key)
        with self._writing():
            found = _table(self._meta, "meta").get(_Q.key == key)
            if expected is not UNSET:
                records.check_meta(key, expected, found["value"] if found is not None else None)
            if audit is None:
                self._write_meta(key, value)
                return
            # With its audit entry (a publish): journaled like a case change, so the live
            # version never switches without the entry that says who switched it.
            change = {"change": secrets.token_hex(8), "meta": {"key": key, "value": value}, "audit": audit.to_json()}
            self._journal.write(change)
            self._apply(change, replaying=False)

    def _write_meta(self, key: str, value: Any) -> None:
        table = _table(self._meta, "meta")
        found = table.get(_Q.key == key)
        if found is not None and found["value"] == value:
            return
        with _dropping_cache_on_error(self._meta):
            if found is None:
                table.insert({"key": key, "value": value})
            else:
                table.update({"value": value}, doc_ids=[found.doc_id])

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        if self._lock.closed:
            return
        with self._lock.reading():
            for storage in (*self._cases, *self._events, self._versions, self._meta):
                storage.close()
            self._lock.close()

    # -- helpers -------------------------------------------------------------
    def _shard_of(self, case_id: str) -> int:
        if not isinstance(case_id, str):
            raise StorageError(f"ケースの id は文字列で渡してください（渡された値: {case_id!r}）。")
        # crc32, not hash(): it must give the same shard in every process and run.
        return zlib.crc32(case_id.encode("utf-8")) % self.shards

    def _case_shard(self, case_id: str) -> AtomicJSONStorage:
        return self._cases[self._shard_of(case_id)]

    def _has_case(self, case_id: str) -> bool:
        return _table(self._case_shard(case_id), "cases").contains(_Q.id == case_id)

    def _layout(self, shards: int | None) -> int:
        """Shard count from format.json, written on first open."""
        path = self.data_dir / "format.json"
        storage = AtomicJSONStorage(path)
        try:
            stored = storage.read()
            if stored is None:
                count = shards or DEFAULT_SHARDS
                storage.write({"format": {"1": {"name": FORMAT, "version": 1, "shards": count}}})
                return count
            layout = stored.get("format", {}).get("1", {})
            if layout.get("name") != FORMAT or not isinstance(layout.get("shards"), int):
                raise StorageError(f"{path} はつなぐのデータではありません。データの保存先（--data）を確認してください。")
            if shards is not None and shards != layout["shards"]:
                raise StorageError(
                    f"{self.data_dir} は分割数 {layout['shards']} で作られています（指定: {shards}）。"
                    "分割数を指定せずに開いてください。")
            return layout["shards"]
        finally:
            storage.close()


def _table(storage: AtomicJSONStorage, name: str) -> Table:
    # A fresh Table per call: Table remembers the next doc id and query results,
    # which go stale when another process writes the same file.
    return Table(storage, name, cache_size=0)


def _raw_docs(storage: AtomicJSONStorage, name: str) -> list[dict]:
    """The parsed documents themselves (the cache): read them, never hand them out."""
    return list(((storage.read() or {}).get(name) or {}).values())


def _replace_with(record: dict):
    """A Table.update callback that makes the document exactly ``record`` (update() alone only merges)."""
    def replace(doc: dict) -> None:
        doc.clear()
        doc.update(record)
    return replace


def _upsert_docs(storage: AtomicJSONStorage, name: str, rows: list[dict], key: Callable[[dict], Any]) -> None:
    """Put ``rows`` into one shard's table, each in place of the document with the same ``key``,
    in one write (none when nothing differs: a replay of a change already applied).

    Table has no one-write "upsert many", so this does what Table does inside (read, apply,
    write), on new dicts so the cache stays untouched until the write.
    """
    tables = dict(storage.read() or {})
    docs = dict(tables.get(name) or {})
    where = {key(doc): doc_id for doc_id, doc in docs.items()}
    next_id = max((int(doc_id) for doc_id in docs), default=0) + 1
    changed = False
    for row in rows:
        doc_id = where.get(key(row))
        if doc_id is None:
            doc_id, next_id = str(next_id), next_id + 1
            where[key(row)] = doc_id
        elif docs[doc_id] == row:
            continue
        docs[doc_id] = row
        changed = True
    if changed:
        tables[name] = docs
        storage.write(tables)


@contextmanager
def _dropping_cache_on_error(storage: AtomicJSONStorage) -> Iterator[None]:
    """If a Table update fails, the cached dict it was editing is not trusted again."""
    try:
        yield
    except BaseException:
        storage.drop_cache()
        raise
