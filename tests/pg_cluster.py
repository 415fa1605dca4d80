"""A throwaway PostgreSQL cluster for `make test` and `make bench`: Debian's postgresql, run as an
unprivileged user on a free loopback port, removed afterwards.

Usage (the Makefile does this)::

    python tests/pg_cluster.py run [--durable] -- COMMAND ARGS...

starts a cluster in a temporary folder, runs COMMAND with ``TSUNAGU_TEST_DATABASE_URL`` set to its
URL, stops the cluster and removes the folder whatever COMMAND did (failures, Ctrl-C), and exits
with COMMAND's exit code. initdb refuses root, so as root the cluster belongs to a system user
``tsunagu-test`` (created when missing) and runs through ``runuser``. The superuser ``tsunagu`` has
a random password; only 127.0.0.1 and a socket inside the folder listen.

Without ``--durable`` the cluster runs with fsync off: tests kill the app, never the database
server, so what they check is unaffected, and the suite is faster. ``make bench`` passes
``--durable`` so its save times include the commit's flush.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = "TSUNAGU_TEST_DATABASE_URL"
OS_USER = "tsunagu-test"
SUPERUSER = "tsunagu"
PACKAGE = "postgresql"

CANNOT = (
    "エラー: テスト用の PostgreSQL を起動できませんでした（{why}）。\n"
    "  make test は Debian の postgresql パッケージ（apt-get install -y postgresql）で使い捨てのサーバーを起動します。\n"
    "  root で apt-get update && apt-get install -y --no-install-recommends postgresql を実行してから、もう一度 make test を実行してください。\n"
    "Error: could not start the throwaway PostgreSQL server for the tests ({why}).\n"
    "  make test needs Debian's postgresql package; install it (apt-get install postgresql) and run make test again.")


class ClusterError(RuntimeError):
    """The cluster could not be started; the message says why in Japanese and English."""


def bin_dir() -> Path:
    """The newest installed server's binaries (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise ClusterError(CANNOT.format(why="initdb がありません / initdb not found"))
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _os_user() -> str | None:
    """The unprivileged account to run the server as when we are root (created once); None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
                       check=True, capture_output=True)
    return OS_USER


class Cluster:
    """A started cluster; ``url`` to connect, ``stop()`` to remove it."""

    def __init__(self, durable: bool = False):
        self.bin = bin_dir()
        self.user = _os_user()
        self.root = Path(tempfile.mkdtemp(prefix="tsunagu-pg-"))
        self.data = self.root / "data"
        self.password = secrets.token_hex(16)
        self.port = 0
        self.durable = durable
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        full = ["runuser", "-u", self.user, "--", *command] if self.user else list(command)
        return subprocess.run(full, capture_output=True, text=True, check=check, cwd=self.root)

    def start(self) -> "Cluster":
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        done = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                         "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8",
                         "--locale=C.UTF-8", check=False)
        pwfile.unlink()
        if done.returncode:
            raise ClusterError(CANNOT.format(why=f"initdb: {done.stderr.strip()[-300:]}"))
        options = f"-c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for _ in range(5):                       # another program may take the free port first
            self.port = free_port()
            done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                             "-t", "60", "-o", f"-p {self.port} {options}", "start", check=False)
            if done.returncode == 0:
                return self
        log = (self.root / "log").read_text(errors="replace")[-400:] if (self.root / "log").exists() else ""
        raise ClusterError(CANNOT.format(why=f"pg_ctl start: {done.stderr.strip()[-200:]} {log}"))

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.port:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv: list[str]) -> int:
    durable = "--durable" in argv[:argv.index("--")] if "--" in argv else False
    if len(argv) < 3 or argv[0] != "run" or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    command = argv[argv.index("--") + 1:]
    try:
        cluster = Cluster(durable=durable).start()
    except (ClusterError, OSError, subprocess.CalledProcessError) as err:
        print(err if isinstance(err, ClusterError) else CANNOT.format(why=err), file=sys.stderr)
        return 1
    # Stop the cluster on Ctrl-C or a TERM from CI too, after the child has had its signal.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return subprocess.call(command, env={**os.environ, ENV: cluster.url})
    except KeyboardInterrupt:
        return 130
    finally:
        started = time.monotonic()
        cluster.stop()
        if time.monotonic() - started > 10:
            print("（テスト用の PostgreSQL の停止に時間がかかりました）", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
