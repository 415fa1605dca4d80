"""An append-only, keyed, hash-chained audit log: who saw and changed what.

Each entry carries an HMAC-SHA256 of itself and of the entry before it, so editing,
deleting or reordering any entry breaks the chain from there on; the newest sequence
number and MAC are also kept in ``head.json``, so cutting entries off the end is detected
too. The key lives outside the data folder (``keys.py``): whoever can write the data
folder cannot recompute the chain.

Crash safety: an entry is fsynced to the log before the head is replaced. A process killed
between the two leaves the head one entry behind; every open (and every append) repairs
that from the log itself, after checking the newer entry's MAC. A torn last line (killed
mid-write, never acknowledged) is cut off the same way. Entries name ids only (case id,
user id, version id): never a personal field.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.errors import StorageError

from storage.atomic_json import fsync_dir
from storage.keys import audit_key, key_path
from storage.private import lock_file, make_dir, open_private

GENESIS = "0" * 64
# Keys an entry may carry besides its chain fields: ids and codes, never names or text.
# ``change``: the random id of a store change (storage/journal.py) the entry belongs to.
ALLOWED = {"actor", "action", "case_id", "target", "version", "role", "result", "count", "detail", "change"}
_TAIL = 64 * 1024


def entry_hash(entry: dict, key: bytes | None = None) -> str:
    """The entry's MAC (HMAC-SHA256 with the audit key) over every field but ``hash``."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    message = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
    return hmac.new(key if key is not None else audit_key(), message, hashlib.sha256).hexdigest()


def typed_id_digest(text: str) -> str:
    """A keyed digest of what someone typed into the ID box: recorded instead of the text,
    which may be a password typed into the wrong box. The same text gives the same digest,
    so repeated attempts still show up together."""
    return "unknown:" + hmac.new(audit_key(), text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class PendingEntry:
    """An audit entry that belongs to a store change (``Repository.save_case_with_events``):
    the store appends it as part of the change, and again after a crash if it is missing."""
    log: "AuditLog"
    actor: str
    action: str
    fields: dict

    def to_json(self, **more: Any) -> dict:
        return {"data_dir": str(self.log.dir.parent), "actor": self.actor, "action": self.action,
                "fields": {**self.fields, **more}}


def append_pending(entry: dict, change: str, replaying: bool) -> None:
    """Append a journaled entry (``PendingEntry.to_json``) tagged with its ``change`` id; when
    ``replaying`` a killed writer's change, only if the log does not have it already."""
    log = AuditLog(entry["data_dir"])
    if replaying:
        log.append_once(change, entry["actor"], entry["action"], **entry["fields"])
    else:
        log.append(entry["actor"], entry["action"], change=change, **entry["fields"])


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad: int | None = None      # 1-based sequence number of the first bad entry
    message: str = ""


class AuditLog:
    """``<data>/audit/log.jsonl`` plus ``head.json``; one writer at a time (thread and file lock)."""

    def __init__(self, data_dir: str | Path, create: bool = True):
        self.dir = Path(data_dir) / "audit"
        if create:
            make_dir(self.dir)
        self.path = self.dir / "log.jsonl"
        self.head = self.dir / "head.json"
        self._lock = threading.Lock()
        if create:
            with self._locked():
                self._recover()

    # -- writing -------------------------------------------------------------------------
    def append(self, actor: str, action: str, **fields: Any) -> dict:
        unknown = set(fields) - ALLOWED
        if unknown:
            raise StorageError(f"監査ログに書けない項目です: {sorted(unknown)}（ID とコードだけを記録します）")
        key = audit_key(create=not self.path.exists() or self.path.stat().st_size == 0)
        with self._locked():
            seq, prev = self._recover()
            return self._write_entry(seq, prev, actor, action, fields, key)

    def append_once(self, change: str, actor: str, action: str, **fields: Any) -> dict | None:
        """``append`` with ``change=change`` unless an entry of that change is already in the log
        (a replayed change whose entry was written before the crash). Reads the whole log:
        for recovery only."""
        key = audit_key(create=not self.path.exists() or self.path.stat().st_size == 0)
        with self._locked():
            seq, prev = self._recover()
            needle = f'"change": "{change}"'.encode()
            if self.path.exists():
                with open(self.path, "rb") as log:
                    if any(needle in line for line in log):
                        return None
            return self._write_entry(seq, prev, actor, action, {**fields, "change": change}, key)

    def _write_entry(self, seq: int, prev: str, actor: str, action: str, fields: dict,
                     key: bytes | None = None) -> dict:
        entry = {"seq": seq + 1, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "actor": actor, "action": action, **fields, "prev": prev}
        entry["hash"] = entry_hash(entry, key)
        fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        with os.fdopen(fd, "ab") as log:
            log.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
            log.flush()
            os.fsync(log.fileno())
        # Killed here, the head is one behind: _recover moves it forward on the next open.
        self._write_head(entry["seq"], entry["hash"])
        return entry

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, lock_file(self.dir / ".lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _recover(self) -> tuple[int, str]:
        """The chain's (seq, mac) to continue from, repairing what a killed writer left.

        Called under the lock. Only what a crash can cause is repaired silently: a torn
        last line (cut off), a head one entry behind a log entry that carries a valid MAC
        and links to it (moved forward), a missing head after the very first entry. An
        unreadable or missing head otherwise cannot come from a crash (the head is
        replaced atomically): the chain continues from the log's last entry, after an
        ``audit_repair`` entry that keeps the fact in the keyed chain. A head ahead of the
        log (entries cut off) stays as it is, for ``verify`` to report.
        """
        self._cut_torn_tail()
        # A head write killed before its rename leaves its temp file: debris, under the lock.
        (self.dir / ".head.json.tmp").unlink(missing_ok=True)
        last = self._last_entry()
        try:
            head = self._read_head_or_none(strict=True)
        except StorageError:
            head = "unreadable"
        if last is None:
            return head if isinstance(head, tuple) else (0, GENESIS)
        valid = self._valid(last)
        if isinstance(head, tuple):
            seq, digest = head
            if valid and last.get("seq") == seq + 1 and last.get("prev") == digest:
                self._write_head(last["seq"], last["hash"])
                return last["seq"], last["hash"]
            return seq, digest
        if not valid:
            return 0, GENESIS
        if head is None and last.get("seq") == 1 and last.get("prev") == GENESIS:
            self._write_head(1, last["hash"])
            return 1, last["hash"]
        repaired = self._write_entry(last["seq"], last["hash"], "system", "audit_repair",
                                     {"detail": "head_unreadable" if head else "head_missing"})
        return repaired["seq"], repaired["hash"]

    def _valid(self, entry: dict) -> bool:
        try:
            return isinstance(entry.get("seq"), int) and hmac.compare_digest(
                entry_hash(entry, audit_key()), str(entry.get("hash")))
        except StorageError:
            return False

    def _cut_torn_tail(self) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0:
            return
        with open(self.path, "rb+") as log:
            log.seek(max(0, size - _TAIL))
            tail = log.read()
            if tail.endswith(b"\n"):
                return
            cut = tail.rfind(b"\n")
            if cut < 0 and size > _TAIL:
                return              # one huge line: not a torn write of ours; verify reports it
            log.truncate(size - len(tail) + cut + 1)
            log.flush()
            os.fsync(log.fileno())

    def _last_entry(self) -> dict | None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return None
        with open(self.path, "rb") as log:
            log.seek(max(0, size - _TAIL))
            lines = [line for line in log.read().split(b"\n") if line.strip()]
        if not lines:
            return None
        try:
            entry = json.loads(lines[-1].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    # -- reading -------------------------------------------------------------------------
    def entries(self) -> Iterator[dict]:
        """The entries in order; a line that is not a JSON object raises ValueError."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as log:
            for line in log:
                if line.strip():
                    entry = json.loads(line.decode("utf-8"))
                    if not isinstance(entry, dict):
                        raise ValueError("not an object")
                    yield entry

    def verify(self) -> Verdict:
        """Walk the chain; name the first entry that was edited, removed or moved.

        Never raises: every kind of damage (a missing log or key, a garbage head, bytes that
        are not UTF-8) is a Verdict with a Japanese message.
        """
        try:
            return self._verify()
        except StorageError as err:
            return Verdict(False, 0, None, str(err))
        except OSError as err:
            return Verdict(False, 0, None, f"監査ログを読めません（{err.strerror or err}）。ファイルの権限を確かめてください。")

    def _verify(self) -> Verdict:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return Verdict(False, 0, 1, f"監査ログ {self.path} がありません（削除されたか、まだ何も記録されていません）。"
                                        "記録があったはずなら、バックアップと照らし合わせてください。")
        try:
            key = audit_key()
        except StorageError as err:
            return Verdict(False, 0, None, str(err))
        return check_chain(self.entries(), key, lambda: self._read_head_or_none(strict=True))

    def _read_head_or_none(self, strict: bool = False) -> tuple[int, str] | None:
        """(seq, mac) from head.json; None when missing (or unreadable and not ``strict``)."""
        try:
            data = json.loads(self.head.read_bytes().decode("utf-8"))
            seq, digest = data["seq"], data["hash"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not isinstance(digest, str):
                raise ValueError("bad head")
            return seq, digest
        except FileNotFoundError:
            return None
        except (UnicodeDecodeError, ValueError, TypeError, KeyError):
            if strict:
                raise StorageError(f"監査ログの控え {self.head} が壊れています（書き換えられた可能性）。"
                                   "バックアップと照らし合わせてください。") from None
            return None

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.dir / ".head.json.tmp"
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "w", encoding="utf-8") as out:
            json.dump({"seq": seq, "hash": digest}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.head)
        fsync_dir(self.dir)


__all__ = ["AuditLog", "GENESIS", "PendingEntry", "Verdict", "append_pending", "check_chain", "entry_hash", "key_path",
           "typed_id_digest"]


def check_chain(entries: Iterator[dict], key: bytes, read_head) -> Verdict:
    """Walk ``entries``; name the first one edited, removed or moved; compare the end with
    ``read_head()`` ((seq, mac) or None). Shared by the file log and the PostgreSQL one."""
    prev, count = GENESIS, 0
    try:
        for count, entry in enumerate(entries, 1):
            if entry.get("seq") != count:
                return Verdict(False, count, count, f"{count}件目の連番が {entry.get('seq')} です（削除か並べ替え）")
            if entry.get("prev") != prev:
                return Verdict(False, count, count, f"{count}件目が前の記録とつながっていません（前の記録の削除・変更・並べ替え）")
            if not hmac.compare_digest(entry_hash(entry, key), str(entry.get("hash"))):
                return Verdict(False, count, count, f"{count}件目の内容が書き換えられています（または別の鍵で書かれています）")
            prev = entry["hash"]
    except (UnicodeDecodeError, ValueError):
        return Verdict(False, count + 1, count + 1, f"{count + 1}件目が読めません（壊れているか書き換えられています）")
    head = read_head()
    if head is None:
        return Verdict(False, count, count + 1, f"記録は {count} 件ありますが、最後の記録の控えがありません（削除された可能性）")
    seq, digest = head
    if (seq, digest) != (count, prev):
        return Verdict(False, count, min(seq, count) + 1,
                       f"記録は {count} 件ですが、最後に書いた記録は {seq} 件目です（末尾の削除か切り詰め）")
    return Verdict(True, count, None, f"監査ログ {count} 件はすべて正しくつながっています")
