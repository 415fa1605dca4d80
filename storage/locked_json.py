"""One small JSON mapping in the data folder (accounts, sessions), changed under a file lock
and replaced atomically: a reader sees the old mapping or the new one, never a mix."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import StorageError
from storage.atomic_json import fsync_dir
from storage.private import lock_file, make_dir, open_private


class LockedJSONFile:
    """``<data>/<NAME>``, private to the server's user (mode 600)."""

    NAME = ""

    def __init__(self, data_dir: str | Path):
        self.dir = make_dir(data_dir)
        self.path = self.dir / self.NAME
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise StorageError(f"{self.path} が読めません（{err}）。バックアップから戻してください。") from err

    def _save(self, data: dict[str, dict]) -> None:
        tmp = self.dir / f".{self.NAME}.tmp"
        fd = open_private(tmp, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.dir)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Held by this thread and, through a 600 lock file, by this process among others."""
        with self._lock, lock_file(self.dir / f".{self.NAME.removesuffix('.json')}.lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _change(self, mutate: Callable[[dict], Any]) -> Any:
        """Apply ``mutate`` to the mapping under the lock and save it (not when it raises)."""
        with self._locked():
            data = self._load()
            result = mutate(data)
            self._save(data)
            return result
