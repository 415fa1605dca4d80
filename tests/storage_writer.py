"""A separate writer process for the storage tests (crash and cross-process safety).

Usage: storage_writer.py DATA_DIR BACKEND MODE [CASE_ID COUNT]

Prints ``ready`` once the repository is open, then, per mode:

- ``cases``: saves forever (a new case, and every third round an update of an
  earlier one); after each save returns, prints ``<id> <revision>``. The test
  kills it at random moments; every printed line is a save the store promised.
- ``bump CASE_ID COUNT``: waits for ``go`` on stdin, then COUNT times reads the
  case and saves it again, printing the new revision.
- ``events CASE_ID COUNT``: waits for ``go`` on stdin, then adds COUNT events,
  printing each seq.
- ``intakes``: the app's own path, forever: a logged-in administrator takes an intake
  (case, two events, audit entry) and, every third round, moves an earlier case on in its
  lifecycle (case, event, audit entry); prints ``<id> <revision>`` after each returns.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import open_repository  # noqa: E402


def say(line: str) -> None:
    print(line, flush=True)


def save_forever(repo) -> None:
    saved: list[dict] = []
    for n in itertools.count():
        if n % 3 == 2 and saved:
            earlier = saved[n % len(saved)]
            earlier["memo"] = f"{n}回目の更新：面談の予定を変更"
            case = repo.save_case(earlier, expected_revision=earlier["revision"])
            saved[n % len(saved)] = case
        else:
            case = repo.save_case({"name": f"相談者{n}", "memo": "長男のひきこもりと母親の介護について相談"})
            saved.append(case)
        say(f"{case['id']} {case['revision']}")


def intakes_forever(repo, where: str) -> None:
    """Set up (pack, rules compiled, user), say ready, then take intakes and status changes forever."""
    from engine.casework.access import Access, ScopedRepository
    from engine.casework.cases import take_intake
    from engine.casework.demo import demo_cases
    from engine.pack import load_pack
    from engine.casework.workflow import allowed_next, change_status
    from storage import open_audit
    from storage.users import User
    pack = load_pack()
    from engine.casework.cases import new_record
    scoped = ScopedRepository(repo, pack, Access.of(pack, User("writer", "書き手", ("admin",))), open_audit(where))
    cases = demo_cases(pack, 1_000_000, seed=int.from_bytes(__import__("os").urandom(3), "big"))
    new_record(pack, next(cases))                  # compiles the rules: the test times the writes, not this
    say("ready")
    taken: list[dict] = []
    for n, case in enumerate(cases):
        if n % 3 == 2 and taken:
            earlier = taken[n % len(taken)]
            moves = allowed_next(pack, earlier["status"])
            if moves:
                stored = change_status(scoped, pack, earlier["id"], moves[0], "writer", earlier["revision"])
                taken[n % len(taken)] = stored
                say(f"{stored['id']} {stored['revision']}")
                continue
        stored, _ = take_intake(scoped, pack, case, actor="writer")
        taken.append(stored)
        say(f"{stored['id']} {stored['revision']}")


def main(argv: list[str]) -> None:
    data_dir, backend, mode = argv[:3]
    repo = open_repository(data_dir, backend)
    if mode == "intakes":
        intakes_forever(repo, data_dir)
        return
    repo.get_case("warm-up")                       # first query's setup happens before "ready", not in the timed part
    say("ready")
    if mode == "cases":
        save_forever(repo)
        return
    case_id, count = argv[3], int(argv[4])
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    for _ in range(count):
        if mode == "bump":
            say(str(repo.save_case(repo.get_case(case_id))["revision"]))
        elif mode == "events":
            say(str(repo.add_event(case_id, {"type": "記録", "by": backend})["seq"]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    repo.close()


if __name__ == "__main__":
    main(sys.argv[1:])
