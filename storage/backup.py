"""Consistent backups of a data folder, taken while the app runs, and restoring them.

The snapshot is taken while holding every writer's lock (cases and versions, users,
audit), so it never catches a half-finished change; writers wait a moment, readers don't.
"""
from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Iterator

from engine.errors import StorageError

from storage.audit import AuditLog
from storage.journal import FILE_NAME as JOURNAL
from storage.tinydb_store import TinyDBRepository
from storage.private import FILE_MODE, lock_file, make_dir, open_private

LOCKS = (".lock", ".users.lock", "audit/.lock")
SKIP = {".lock", ".users.lock", ".lock.tmp", "sessions.json", ".sessions.lock"}   # sessions never come back from a backup


@contextlib.contextmanager
def _all_locks(data: Path) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name in LOCKS:
            path = data / name
            make_dir(path.parent)
            handle = stack.enter_context(lock_file(path))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def backup(data_dir: str | Path, out: str | Path) -> dict:
    """Write ``out`` (tar.gz) with every file of the store; returns a small manifest."""
    data = Path(data_dir)
    if not data.is_dir():
        raise StorageError(f"データの保存先 {data} がありません。--data を確かめてください。")
    out = Path(out)
    if (data / JOURNAL).exists():
        # A writer was killed mid-change: finish it first, so the archive holds whole changes only.
        TinyDBRepository(data).close()
    with _all_locks(data):
        files = sorted(p for p in data.rglob("*") if p.is_file() and p.name not in SKIP
                       and not p.name.endswith(".tmp") and out.resolve() != p.resolve())
        manifest = {"format": "tsunagu-backup", "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "files": len(files)}
        make_dir(out.parent)
        # A backup killed mid-way leaves its temp file: the next run removes it (ours by name).
        for debris in out.parent.glob(".*.tar.gz.*.tmp"):
            debris.unlink(missing_ok=True)
        for debris in out.parent.glob("*.tar.gz.tmp"):
            debris.unlink(missing_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as raw, \
                    tarfile.open(fileobj=raw, mode="w:gz") as tar:
                blob = json.dumps(manifest, ensure_ascii=False).encode()
                info = tarfile.TarInfo("MANIFEST.json")
                info.size = len(blob)
                info.mode = FILE_MODE
                tar.addfile(info, io.BytesIO(blob))
                for path in files:
                    tar.add(path, arcname=f"data/{path.relative_to(data).as_posix()}")
                tar.close()
                raw.flush()
                os.fsync(raw.fileno())
            tmp.replace(out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return manifest


def restore(archive: str | Path, data_dir: str | Path, force: bool = False) -> dict:
    """Unpack a backup into an empty ``data_dir`` (or replace it with ``force``); verify the audit log."""
    archive, data = Path(archive), Path(data_dir)
    if data.exists() and any(data.iterdir()) and not force:
        raise StorageError(f"{data} は空ではありません。別の空のフォルダを指定するか、上書きするなら --force を付けてください。")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = json.loads(tar.extractfile("MANIFEST.json").read())
            if manifest.get("format") != "tsunagu-backup":
                raise StorageError(f"{archive} はつなぐのバックアップではありません。")
            members = [m for m in tar.getmembers() if m.name.startswith("data/") and m.isfile()]
            make_dir(data)
            for member in members:
                target = (data / member.name[len("data/"):]).resolve()
                if not target.is_relative_to(data.resolve()):
                    raise StorageError(f"バックアップに不正なパスがあります: {member.name}")
                make_dir(target.parent)
                # 600 whatever the archive or the umask says: users.json and the cases are restored too.
                with os.fdopen(open_private(target, os.O_WRONLY | os.O_TRUNC), "wb") as out_file:
                    out_file.write(tar.extractfile(member).read())
    except (tarfile.TarError, KeyError, OSError) as err:
        raise StorageError(f"{archive} を読めません（{err}）。ファイルが壊れていないか確かめてください。") from err
    verdict = AuditLog(data, create=False).verify()
    if not verdict.ok:
        raise StorageError(f"復元しましたが、監査ログが正しくつながっていません: {verdict.message}")
    return manifest
