"""Files and folders of the store are private to the service's account, whatever the caller's umask.

The data is 要配慮個人情報: folders are created 700 and files 600 explicitly (a umask of
022, the usual default, would make them readable by every local account). The app and the
CLI also set umask 077 themselves (``restrict_umask``), so nothing a library creates on
our behalf (sqlite's WAL, a temp file) escapes either.
"""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def restrict_umask() -> None:
    """Make every file this process creates from now on private (the app and CLI call it first)."""
    os.umask(UMASK)


def make_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as 700 folders; an existing folder is left as it is.

    An existing folder keeps its mode: the administrator may have set group access on
    purpose (docs/deploy.md creates the data folder 700 anyway).
    """
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        os.chmod(folder, DIR_MODE)
    return path


def open_private(path: str | Path, flags: int) -> int:
    """``os.open`` that creates the file 600 (an existing file is made 600 too)."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def touch_private(path: str | Path) -> Path:
    """Create ``path`` empty and 600 if missing (before a library opens it with its own mode)."""
    os.close(open_private(path, os.O_RDWR))
    return Path(path)


def lock_file(path: str | Path):
    """A binary handle on a 600 lock file, for ``fcntl.flock``."""
    return os.fdopen(open_private(path, os.O_RDWR), "rb+")
