"""SIGKILL the app mid-transaction, again and again: on PostgreSQL nothing acknowledged is lost
and no change is half there (a case without its events or its audit entry, or the reverse)."""
from __future__ import annotations

import os
import random
import time
from collections import Counter

import psycopg

from storage import open_audit, open_repository
from tests.test_storage import kill_writer, start_writer

ROUNDS = 20


def test_killed_app_never_loses_an_acknowledged_change_nor_leaves_half_of_one(pg_url):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    acknowledged: dict[str, int] = {}
    for round_no in range(ROUNDS):
        proc = start_writer(pg_url, "postgres", "intakes")
        time.sleep(rng.uniform(0.2, 1.2))             # picks the moment of the kill
        kill_writer(proc, acknowledged, timeout=60)
        where = f"round {round_no}, seed {seed}"
        with open_repository(pg_url) as repo:
            cases = {c["id"]: c for c in repo.list_cases()}
            lost = [i for i, rev in acknowledged.items() if i not in cases or cases[i]["revision"] < rev]
            assert lost == [], f"{where}: acknowledged changes lost: {lost[:5]}"
            for case in cases.values():
                kinds = Counter(e["type"] for e in repo.events(case["id"]))
                # One intake = received + decided; each later revision = one status change.
                assert (kinds["received"], kinds["decided"]) == (1, 1), f"{where}: {case['id']} {kinds}"
                assert kinds["status_changed"] == case["revision"] - 1, f"{where}: {case['id']} {kinds}"
        log = open_audit(pg_url)
        verdict = log.verify()
        assert verdict.ok, f"{where}: {verdict.message}"
        writes = Counter(e["case_id"] for e in log.entries() if e["action"] == "case_write")
        assert writes == Counter({i: c["revision"] for i, c in cases.items()}), f"{where}: audit and cases differ"
        log.close()
    with psycopg.connect(pg_url) as conn:               # no transaction left open by a killed writer
        open_tx = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND state LIKE 'idle in transaction%%'").fetchone()[0]
    assert open_tx == 0
    assert len(acknowledged) >= ROUNDS, "the writer hardly wrote anything; the test proved nothing"
