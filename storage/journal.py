"""A write-ahead journal: a change that touches several files lands whole or not at all.

A case change touches two shard files (the case, its events) and the audit log. Each file
is replaced atomically, but a process killed between two of them would leave a case
without its intake event, or a status with no event. So the whole change is first written
to ``journal.json`` (atomically and fsynced); then the files are written, events before
the case (a reader in another process who sees the case sees its events too); then the
journal is removed. Whoever takes the write lock next (a later open, or the next write of
any process) finds a journal left behind and applies it again. Every step is idempotent:
events by (case id, seq), the case by id, the audit entry by the change id it carries.
A publish is journaled the same way: the live-version pointer (a meta value) and its audit entry;
and so is a bulk write (demo data): every case, every event and the audit entries, shard by shard.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.errors import StorageError

from storage.atomic_json import TEMP_SUFFIX, fsync_dir
from storage.private import open_private

FILE_NAME = "journal.json"


class Journal:
    """The one pending change of a store (writers hold the store's lock, so there is at most one)."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FILE_NAME

    def write(self, change: dict[str, Any]) -> None:
        """Make ``change`` durable before any file it names is touched."""
        temp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}{TEMP_SUFFIX}")
        with os.fdopen(open_private(temp, os.O_WRONLY | os.O_TRUNC), "wb") as out:
            out.write(json.dumps(change, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)
        fsync_dir(self.path.parent)

    def pending(self) -> dict[str, Any] | None:
        """The change a killed writer left, or None."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            change = json.loads(raw.decode("utf-8"))
            if not isinstance(change, dict) or not (isinstance(change.get("case", change.get("meta")), dict)
                                                    or isinstance(change.get("cases"), list)):
                raise ValueError("not a change")
            return change
        except (UnicodeDecodeError, ValueError):
            # Written whole and renamed into place: it cannot be torn by a crash, only by hand.
            raise StorageError(f"書きかけの変更の記録 {self.path} が壊れていて読めません（手で編集された可能性）。"
                               "バックアップから復元するか、管理者に連絡してください。") from None

    def clear(self) -> None:
        """The change is complete: forget it (durably, so it is not applied again after a power cut)."""
        self.path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)
