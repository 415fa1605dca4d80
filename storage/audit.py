"""An append-only, hash-chained audit log: who saw and changed what.

Each entry holds the hash of the entry before it, so editing, deleting or reordering
any entry breaks the chain from there on; the newest sequence number and hash are also
kept in a separate head file, so cutting entries off the end is detected too. Entries
name ids only (case id, user id, version id): never a personal field.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from engine.errors import StorageError
from storage.atomic_json import fsync_dir

GENESIS = "0" * 64
# Keys an entry may carry besides its chain fields: ids and codes, never names or text.
ALLOWED = {"actor", "action", "case_id", "target", "version", "role", "result", "count", "detail"}


def entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    first_bad: int | None = None      # 1-based sequence number of the first bad entry
    message: str = ""


class AuditLog:
    """``<data>/audit/log.jsonl`` plus ``head.json``; one writer at a time (thread and file lock)."""

    def __init__(self, data_dir: str | Path):
        self.dir = Path(data_dir) / "audit"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "log.jsonl"
        self.head = self.dir / "head.json"
        self._lock = threading.Lock()

    def append(self, actor: str, action: str, **fields: Any) -> dict:
        unknown = set(fields) - ALLOWED
        if unknown:
            raise StorageError(f"監査ログに書けない項目です: {sorted(unknown)}（ID とコードだけを記録します）")
        with self._lock, open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seq, prev = self._read_head()
            entry = {"seq": seq + 1, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "actor": actor, "action": action, **fields, "prev": prev}
            entry["hash"] = entry_hash(entry)
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
                log.flush()
                os.fsync(log.fileno())
            self._write_head(entry["seq"], entry["hash"])
            return entry

    def entries(self) -> Iterator[dict]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as log:
            for line in log:
                if line.strip():
                    yield json.loads(line)

    def verify(self) -> Verdict:
        """Walk the chain; name the first entry that was edited, removed or moved."""
        prev, count = GENESIS, 0
        try:
            for count, entry in enumerate(self.entries(), 1):
                if entry.get("seq") != count:
                    return Verdict(False, count, count, f"{count}件目の連番が {entry.get('seq')} です（削除か並べ替え）")
                if entry.get("prev") != prev:
                    return Verdict(False, count, count, f"{count}件目が前の記録とつながっていません（前の記録の削除・変更・並べ替え）")
                if entry_hash(entry) != entry.get("hash"):
                    return Verdict(False, count, count, f"{count}件目の内容が書き換えられています")
                prev = entry["hash"]
        except json.JSONDecodeError:
            return Verdict(False, count + 1, count + 1, f"{count + 1}件目が読めません（壊れているか書き換えられています）")
        seq, head = self._read_head()
        if (seq, head) != (count, prev):
            return Verdict(False, count, min(seq, count) + 1,
                           f"記録は {count} 件ですが、最後に書いた記録は {seq} 件目です（末尾の削除か切り詰め）")
        return Verdict(True, count, None, f"監査ログ {count} 件はすべて正しくつながっています")

    def _read_head(self) -> tuple[int, str]:
        if not self.head.exists():
            return 0, GENESIS
        data = json.loads(self.head.read_text(encoding="utf-8"))
        return int(data["seq"]), str(data["hash"])

    def _write_head(self, seq: int, digest: str) -> None:
        tmp = self.dir / ".head.json.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump({"seq": seq, "hash": digest}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.head)
        fsync_dir(self.dir)
