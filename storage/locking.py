"""One lock per repository: a thread lock, plus a file lock for writers in other processes.

The CLI and the Streamlit app may open the same data directory at once.
``fcntl.flock`` on ``<data>/.lock`` serialises their writes (and the
read-check-write of a revision check); the OS releases it when a process dies,
so a killed writer never leaves the store locked.
"""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from engine.errors import StorageError

from storage.private import open_private


class RepoLock:
    """``reading()`` for this process's threads only; ``writing()`` also excludes other processes."""

    def __init__(self, lock_path: Path):
        self._threads = threading.RLock()
        self._path = lock_path
        self._fd: int | None = open_private(lock_path, os.O_RDWR)
        # flock is not counted: the first unlock releases it, so nested writing()
        # sections (bulk save calling helpers) must only lock at the outermost level.
        self._depth = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold the thread lock."""
        with self._threads:
            self._check_open()
            yield

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the thread lock and the data directory's file lock."""
        with self._threads:
            self._check_open()
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._fd is None

    def close(self) -> None:
        """Release the lock file; later use raises StorageError."""
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _check_open(self) -> None:
        if self._fd is None:
            raise StorageError(
                f"{self._path.parent} のリポジトリは閉じられています。open_repository で開き直してください。")
