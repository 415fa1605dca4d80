"""Writers killed with SIGKILL at random moments lose nothing acknowledged and leave no half change.

Writers (tests/fault_writer.py) take intakes, change statuses, publish configuration
versions and take backups, one kind per process, in turn; each is killed at a random
moment. Then the store is opened (which finishes a change a killed writer left in the
journal) and held to what the writers acknowledged: every acknowledged intake, status,
publish and backup is there; every case has its intake events, one event per status
change and one audit entry per write; the audit chain verifies; every backup restores
and holds the same invariants; no temp file is left behind.
"""
from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from engine.changes.versions import history, live_version_id
from engine.pack import DEFAULT_PACK, load_pack
from storage import open_repository
from storage.audit import AuditLog
from storage.backup import backup, restore

WRITER = Path(__file__).with_name("fault_writer.py")
MODES = ("intake", "status", "publish", "backup")
KILLS = 28


def run_and_kill(data: Path, out: Path, mode: str, seed: int, rng: random.Random,
                 taken: list[Path]) -> tuple[list[str], str | None]:
    """Start a writer, let it work for a random moment, SIGKILL it; its lines and the change in flight.

    While intake and status writers work, the test takes a backup of its own (``taken``).
    """
    proc = subprocess.Popen([sys.executable, str(WRITER), str(data), str(out), mode, str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready and proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.poll() is not None else ""
        # Publishing runs every scenario first, so its writes come later: give it longer.
        wait = rng.uniform(0.05, 4.0 if mode == "publish" else 1.5)
        if mode in ("intake", "status") and seed % 3 == 0:
            time.sleep(wait / 2)
            taken.append(out / f"meanwhile-{seed}.tar.gz")
            backup(data, taken[-1])
            wait /= 2
        time.sleep(wait)
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=60)
    # Only whole lines say something; a blank one (seen once under load, from output cut by the
    # kill) acknowledges nothing.
    lines = [line for line in rest.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    in_flight = lines[-1].split()[1] if lines and lines[-1].startswith("begin") else None
    return lines, in_flight


def check_store(data: Path, pack) -> dict:
    """Every case has its events and audit entries; returns the cases by id."""
    with open_repository(data) as repo:
        cases = {c["id"]: c for c in repo.list_cases()}
        writes = Counter(e.get("case_id") for e in AuditLog(data).entries() if e["action"] == "case_write")
        for case_id, case in cases.items():
            events = repo.events(case_id)
            kinds = [e["type"] for e in events]
            assert kinds[:2] == ["received", "decided"], (case_id, kinds)
            moves = [e for e in events if e["type"] == "status_changed"]
            # Only intakes and status changes write these cases: one event per write, no more, no less.
            assert case["revision"] == 1 + len(moves), (case_id, case["revision"], kinds)
            assert case["status"] == (moves[-1]["to"] if moves else pack.initial_status), (case_id, kinds)
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), case_id
            assert writes[case_id] == case["revision"], (case_id, writes[case_id], case["revision"])
        state = repo.get_meta("config") or {}
        for version in state.get("history", []):
            assert repo.get_version(version) is not None, version
        assert state.get("live") in state.get("history", [None]) or not state
    verdict = AuditLog(data, create=False).verify()
    assert verdict.ok, verdict.message
    assert not list(data.rglob("*.tmp")) and not (data / "journal.json").exists()
    return cases


def test_writers_killed_at_random_lose_nothing_acknowledged(tmp_path):
    data, out = tmp_path / "data", tmp_path / "backups"
    out.mkdir()
    pack = load_pack(DEFAULT_PACK)
    rng = random.Random(int(os.environ.get("TSUNAGU_FAULT_SEED", "10")))
    acked: dict[str, list[list[str]]] = {mode: [] for mode in MODES}
    killed_during: Counter = Counter()
    taken: list[Path] = []
    for kill in range(KILLS):
        mode = MODES[kill % len(MODES)]
        lines, in_flight = run_and_kill(data, out, mode, kill, rng, taken)
        killed_during[in_flight or "between changes"] += 1
        for line in lines:
            word, *rest = line.split()
            if word != "begin":
                acked[word].append(rest)

    cases = check_store(data, pack)
    for (case_id,) in acked["intake"]:
        assert case_id in cases, case_id
    for case_id, to, revision in acked["status"]:
        assert cases[case_id]["revision"] >= int(revision), case_id
    with open_repository(data) as repo:
        published = [v.id for v in history(repo)]
        live = live_version_id(repo)
    assert {v for (v,) in acked["publish"]} <= set(published) and (live in published or not published)
    assert taken
    for archive in [Path(a) for (a,) in acked["backup"]] + taken:
        restored = tmp_path / "restored" / archive.name
        restore(archive, restored)                     # verifies the restored audit chain
        check_store(restored, pack)
    backup(data, out / "final.tar.gz")                  # the next run removes what killed backups left
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    print(f"kills: {KILLS}, in flight: {dict(killed_during)}, acknowledged: "
          f"{ {k: len(v) for k, v in acked.items()} }, backups taken meanwhile: {len(taken)}, cases: {len(cases)}")
    # The kills reached every kind of change while it was being written.
    assert sum(killed_during[m] for m in MODES) >= KILLS // 2 and all(killed_during[m] for m in MODES), killed_during
    assert acked["intake"] and acked["status"] and acked["backup"]
