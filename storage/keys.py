"""The audit log's HMAC key: a file outside the data folder, so whoever can write the data
folder (or holds a backup of it) cannot recompute the chain.

``TSUNAGU_AUDIT_KEY_FILE`` names it; by default it is ``$XDG_CONFIG_HOME/tsunagu/audit.key``
(``~/.config/tsunagu/audit.key`` of the account the service runs as). It is created 600, with
32 random bytes, the first time an empty audit log is written; after that a missing key is
an error, never a new key (a new key would make every earlier entry look forged).
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from engine.errors import StorageError

from storage.private import make_dir, open_private

ENV = "TSUNAGU_AUDIT_KEY_FILE"
_cache: dict[tuple, bytes] = {}
_lock = threading.Lock()


def key_path() -> Path:
    """Where the key is (or will be) kept."""
    named = os.environ.get(ENV)
    if named:
        return Path(named).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "tsunagu" / "audit.key"


def audit_key(create: bool = False) -> bytes:
    """The key's bytes; with ``create``, a missing key file is made (600, in a 700 folder)."""
    path = key_path()
    with _lock:
        try:
            st = path.stat()
            seen = (path, st.st_ino, st.st_mtime_ns)
            if seen in _cache:
                return _cache[seen]
            raw = path.read_bytes().strip()
        except FileNotFoundError:
            if not create:
                raise StorageError(
                    f"監査ログの鍵 {path} がありません。鍵はデータのフォルダの外に置きます（環境変数 {ENV}）。"
                    "鍵のファイルを元の場所に戻してください（別の鍵では、これまでの記録を確かめられません）。") from None
            raw = _create(path)
        except OSError as err:
            raise StorageError(f"監査ログの鍵 {path} を読めません（{err.strerror or err}）。権限を確かめてください。") from err
        if len(raw) < 32:
            raise StorageError(f"監査ログの鍵 {path} が短すぎます（壊れている可能性）。元の鍵のファイルを戻してください。")
        st = path.stat()
        _cache.clear()
        _cache[(path, st.st_ino, st.st_mtime_ns)] = raw
        return raw


def _create(path: Path) -> bytes:
    make_dir(path.parent)
    raw = secrets.token_hex(32).encode()
    try:
        fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:            # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(raw + b"\n")
        out.flush()
        os.fsync(out.fileno())
    return raw
