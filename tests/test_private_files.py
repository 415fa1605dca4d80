"""Files of the store are private whatever the caller's umask: folders 700, files 600, backups
and restored files too (the audit log, heads, locks and users.json included)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.casework.demo import mark_store, save_demo
from engine.pack import DEFAULT_PACK, load_pack
from engine.changes.versions import ensure_live
from storage import open_repository
from storage.audit import AuditLog
from storage.backup import backup, restore
from storage.users import UserStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def loose(root: Path) -> list[str]:
    """Everything under ``root`` that another account could read (or that is not 700/600)."""
    bad = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            bad.append(f"{path.relative_to(root.parent)} {oct(mode)}")
    return bad


@pytest.mark.parametrize("backend", ["tinydb", "sqlite"])
def test_store_backup_and_restore_are_private_under_umask_022(tmp_path, umask_022, backend):
    data = tmp_path / "data"
    pack = load_pack()
    with open_repository(data, backend) as repo:
        mark_store(repo, "demo")
        save_demo(repo, pack, 5)
        ensure_live(repo, DEFAULT_PACK)
    UserStore(data).add("admin1", "管理者（架空）", ["admin"], "じゅうもじいじょうのぱすわーど")
    AuditLog(data).append("admin1", "login")
    with open_repository(data / "training", backend) as training:
        mark_store(training, "training")
        save_demo(training, pack, 2)
    assert loose(data) == []
    out = tmp_path / "backups" / "b.tar.gz"
    backup(data, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    restore(out, tmp_path / "restored")
    assert loose(tmp_path / "restored") == []
    assert (tmp_path / "restored" / "users.json").exists()


def test_cli_sets_umask_077_itself(tmp_path):
    """The CLI run from a shell with umask 022 still writes nothing others can read."""
    data = tmp_path / "data"
    env = {**os.environ, "TSUNAGU_PASSWORD": "じゅうもじいじょうのぱすわーど"}
    tsunagu = [sys.executable, "-m", "engine.cli"]

    def run(*args: str) -> None:
        done = subprocess.run([*tsunagu, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              preexec_fn=lambda: os.umask(0o022), timeout=120)
        assert done.returncode == 0, done.stderr

    run("user", "add", "admin1", "--role", "admin", "--data", str(data))
    run("demo-data", "--cases", "3", "--data", str(data))
    run("versions", "--data", str(data))
    run("backup", "--data", str(data), "--out", str(tmp_path / "out" / "b.tar.gz"))
    assert loose(data) == []
    assert loose(tmp_path / "out") == []
    # The process itself runs with umask 077, so even a file a library makes is private.
    probe = subprocess.run([sys.executable, "-c", "import os, engine.cli as c, sys;"
                            "sys.argv=['tsunagu','validate'];c.main(['validate']);print(oct(os.umask(0)))"],
                           cwd=ROOT, env=env, capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022))
    assert probe.stdout.strip().endswith("0o77"), probe.stdout + probe.stderr
