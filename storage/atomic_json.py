"""A TinyDB ``Storage`` that replaces its JSON file atomically and caches what it parsed.

TinyDB's own JSONStorage rewrites the file in place: a crash mid-write leaves a
truncated file. Here every write goes to a temp file in the same directory,
is fsynced, then ``os.replace``d over the old one, and the directory is fsynced
so the rename itself survives a power cut. A reader (in any process) sees the
old file or the new one, never a mix.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from tinydb.storages import Storage

from engine.errors import StorageError
from storage.collector import collection_paused

TEMP_SUFFIX = ".tmp"

@dataclass
class _Parsed:
    key: tuple[int, int, int, int]
    data: dict
    # Kept open so the file's inode cannot be freed and handed to a later file:
    # that is what makes "same inode" in ``key`` mean "same file".
    pin: IO[bytes]


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftover_temps(directory: Path) -> list[Path]:
    """Delete temp files a killed writer left behind; call only while holding the write lock.

    Under the lock no live writer has a temp file open, so everything matching is debris.
    """
    removed = []
    for path in directory.glob(f".*{TEMP_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


class AtomicJSONStorage(Storage):
    """One JSON file. ``read()`` re-parses only when the file changed (device, inode, mtime, size).

    The dict ``read()`` returns is the cache itself; TinyDB's ``Table`` edits it
    in place before calling ``write()``. Callers must hold the repository lock
    and must not hand it out; a failed write drops the cache so the next read
    comes from disk again.
    """

    def __init__(self, path: str | Path, written: Callable[[dict, tuple], None] | None = None):
        super().__init__()
        self.path = Path(path)
        self._parsed: _Parsed | None = None
        #: Called with the data and its version after each successful write (the case list's index).
        self._written = written

    def read(self) -> dict[str, dict[str, Any]] | None:
        """The file's tables, or None when the file does not exist yet."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._drop()
            return None
        if self._parsed is not None and self._parsed.key == _stat_key(st):
            return self._parsed.data
        try:
            handle = open(self.path, "rb")
        except FileNotFoundError:
            self._drop()
            return None
        try:
            # fstat of the handle we read, not the earlier stat: the file may
            # have been replaced in between, and the key must match the bytes.
            key = _stat_key(os.fstat(handle.fileno()))
            data = self._parse(handle.read())
        except BaseException:
            handle.close()
            raise
        self._keep(_Parsed(key, data, handle))
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Replace the file with ``data`` atomically (temp file, fsync, rename, fsync dir)."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=TEMP_SUFFIX, dir=self.path.parent)
        handle = os.fdopen(fd, "wb")
        try:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            key = _stat_key(os.fstat(handle.fileno()))
            os.replace(temp_name, self.path)
            fsync_dir(self.path.parent)
        except BaseException as exc:
            handle.close()
            try:
                os.unlink(temp_name)
            except FileNotFoundError:
                pass
            # The caller may have edited the cached dict already; forget it.
            self._drop()
            if isinstance(exc, OSError):
                raise StorageError(
                    f"{self.path} に書き込めませんでした（{exc.strerror or exc}）。"
                    "ディスクの空き容量と書き込み権限を確認してから、もう一度保存してください。") from exc
            raise
        self._keep(_Parsed(key, data, handle))
        if self._written is not None:
            self._written(data, key)

    def peek(self) -> tuple[dict[str, dict[str, Any]] | None, tuple[int, int, int, int] | None]:
        """(what was parsed, if the file is still that version, else None; the file's version,
        None when there is no file), without parsing anything."""
        try:
            key = _stat_key(os.stat(self.path))
        except FileNotFoundError:
            return None, None
        parsed = self._parsed
        return (parsed.data if parsed is not None and parsed.key == key else None), key

    def read_versioned(self) -> tuple[dict[str, dict[str, Any]] | None, tuple[int, int, int, int] | None]:
        """``read()`` and which file it came from: the version changes whenever the file is
        replaced (a write here or in another process). None when it cannot be told (nothing
        parsed, or another reader re-parsed in between): then the data is not to be remembered."""
        data = self.read()
        parsed = self._parsed
        return data, parsed.key if parsed is not None and parsed.data is data and data is not None else None

    def drop_cache(self) -> None:
        """Forget the parsed data (after an operation failed half-way through editing it)."""
        self._drop()

    def close(self) -> None:
        self._drop()

    def _parse(self, raw: bytes) -> dict:
        try:
            with collection_paused():
                data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise self._broken(str(exc)) from exc
        if not isinstance(data, dict):
            raise self._broken("中身がJSONのオブジェクトではありません")
        for table_name, table in data.items():
            if not isinstance(table, dict) or not all(isinstance(d, dict) for d in table.values()):
                raise self._broken(f"表 {table_name!r} の形が正しくありません")
        return data

    def _broken(self, detail: str) -> StorageError:
        return StorageError(
            f"データファイル {self.path} が壊れていて読めません（{detail}）。"
            "手で編集した場合は元に戻すか、バックアップから復元してください。")

    def _keep(self, parsed: _Parsed) -> None:
        self._drop()
        self._parsed = parsed

    def _drop(self) -> None:
        if self._parsed is not None:
            self._parsed.pin.close()
            self._parsed = None
