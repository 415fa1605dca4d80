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


def main(argv: list[str]) -> None:
    data_dir, backend, mode = argv[:3]
    repo = open_repository(data_dir, backend)
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
