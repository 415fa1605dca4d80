"""Where cases, their history, config versions and settings are kept.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d, open_repository(d) as repo:
...     saved = repo.save_case({"name": "山田 花子"})
...     (saved["revision"], repo.get_case(saved["id"])["name"])
(1, '山田 花子')
"""
from __future__ import annotations

from pathlib import Path

from engine.errors import StorageError, did_you_mean
from storage.base import UNSET, Repository
from storage.sqlite_store import SQLiteRepository
from storage.tinydb_store import TinyDBRepository

BACKENDS = {"tinydb": TinyDBRepository, "sqlite": SQLiteRepository}

__all__ = ["BACKENDS", "UNSET", "Repository", "SQLiteRepository", "TinyDBRepository", "open_repository"]


def open_repository(data_dir: str | Path, backend: str = "tinydb") -> Repository:
    """Open (creating if needed) the store in ``data_dir`` with the named backend."""
    try:
        factory = BACKENDS[backend]
    except KeyError:
        hint = did_you_mean(backend, BACKENDS)
        raise StorageError(
            f"保存方式 {backend!r} はありません。{' '.join(BACKENDS)} のどれかを指定してください。"
            + (f"（{hint}）" if hint else "")) from None
    return factory(data_dir)
