"""A writer process for tests/test_fault_kill.py: it is killed (SIGKILL) at a random moment.

Usage: fault_writer.py DATA_DIR BACKUP_DIR MODE SEED

Works on the store as the app does (ScopedRepository of an administrator, audit log on)
and repeats one kind of change, MODE: ``intake``, ``status``, ``publish`` or ``backup``.
Prints ``ready`` once the store is open, ``begin <mode>`` before each change and, after it
returns, one acknowledgement line the test holds the store to:

- ``intake <case id>``          a case taken with its intake events
- ``status <case id> <to> <revision>``
- ``publish <version id>``      a configuration version made live
- ``backup <archive path>``
"""
from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402

from engine.casework.access import Access, ScopedRepository  # noqa: E402
from engine.casework.cases import checked_intake, take_intake  # noqa: E402
from engine.casework.workflow import allowed_next, change_status  # noqa: E402
from engine.changes.versions import ensure_live, publish  # noqa: E402
from engine.errors import CaseError  # noqa: E402
from engine.pack import DEFAULT_PACK, load_pack, read_sources  # noqa: E402
from storage import open_repository  # noqa: E402
from storage.audit import AuditLog  # noqa: E402
from storage.backup import backup  # noqa: E402
from storage.users import User  # noqa: E402

ADMIN = User("fault_admin", "試験の管理者", ("admin",))


def say(line: str) -> None:
    print(line, flush=True)


def scenario_cases(root: Path) -> list[dict]:
    return [yaml.safe_load(p.read_text(encoding="utf-8"))["case"] for p in sorted((root / "scenarios").glob("*.yaml"))]


def complete(pack, case: dict) -> bool:
    """A scenario the intake form would store (some scenarios leave a required field empty on purpose)."""
    try:
        checked_intake(pack, case)
    except CaseError:
        return False
    return True


def main() -> None:
    data, out, mode, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    rng = random.Random(seed)
    pack = load_pack(DEFAULT_PACK)
    repo = open_repository(data)                 # replays what a killed writer left
    scoped = ScopedRepository(repo, pack, Access.of(pack, ADMIN), audit=AuditLog(data))
    cases = [c for c in scenario_cases(DEFAULT_PACK) if complete(pack, c)]
    sources = read_sources(DEFAULT_PACK) if mode == "publish" else {}
    say("ready")
    for n in itertools.count():
        say(f"begin {mode}")
        if mode == "intake":
            stored, _ = take_intake(scoped, pack, rng.choice(cases), actor=ADMIN.id)
            say(f"intake {stored['id']}")
        elif mode == "status":
            movable = [c for c in repo.list_cases() if allowed_next(pack, c["status"])]
            if not movable:
                stored, _ = take_intake(scoped, pack, rng.choice(cases), actor=ADMIN.id)
                say(f"intake {stored['id']}")
                continue
            case = rng.choice(movable)
            to = rng.choice(allowed_next(pack, case["status"]))
            stored = change_status(scoped, pack, case["id"], to, ADMIN.id, expected_revision=case["revision"])
            say(f"status {stored['id']} {to} {stored['revision']}")
        elif mode == "publish":
            base = ensure_live(scoped, DEFAULT_PACK)
            draft = {**sources, "rules.yaml": sources["rules.yaml"] + f"\n# 試験の公開 {seed}-{n}\n"}
            info = publish(scoped, draft, "試験者", f"試験の公開 {seed}-{n}", base)
            say(f"publish {info.id}")
        else:
            archive = out / f"b{seed}-{n}.tar.gz"
            backup(data, archive)
            say(f"backup {archive}")


if __name__ == "__main__":
    main()
