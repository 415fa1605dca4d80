"""The PostgreSQL backend's figures for ``make bench`` (``make bench`` starts the server; alone:
``python tests/pg_cluster.py run --durable -- python bench/postgres.py``).

- ``pg_save_p50_ms_20000``: one intake as the app takes it — decide, save the case, its two
  events and its audit entry in one transaction — with 20,000 cases stored; median of 100.
- ``pg_case_list_ms_<n>``: the ケース一覧 page's work for an administrator (visible/hidden counts,
  one page of the query, its rows) at 20,000 and 100,000 cases; slowest of three queries
  (default, an area filter, a name search), each the median of 5.
- ``pg_dashboard_ms_100000``: the ダッシュボード's work (年度 list, counts, report) at 100,000.
- ``pg_impact_preview_s_100000``: the 設定 > 公開 impact preview over 100,000 stored cases.
- ``writers8_intakes_per_s_{pg,tinydb}``: 8 processes each taking intakes (with events and audit)
  at once into one store, for a fixed time; three rounds, PostgreSQL and TinyDB in turn: the
  medians, the median of the rounds' ratios, and each round's ratio.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.casework.access import Access, ScopedRepository  # noqa: E402
from engine.casework.caselist import CaseQuery, row_view  # noqa: E402
from engine.casework.cases import intake_events, new_record  # noqa: E402
from engine.casework.demo import demo_cases  # noqa: E402
from engine.pack import load_pack  # noqa: E402
from storage import open_audit, open_repository  # noqa: E402
from storage.audit import PendingEntry  # noqa: E402
from storage.users import User  # noqa: E402

ENV = "TSUNAGU_TEST_DATABASE_URL"
ADMIN = User("bench", "計測", ("admin",))
WRITERS, WRITE_SECONDS, ROUNDS = 8, 8.0, 3


def _ms(func) -> float:
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1000


def _median_ms(func, runs: int = 5) -> float:
    func()                                             # warm the connection and the plan cache
    return round(statistics.median(_ms(func) for _ in range(runs)), 1)


class FreshDatabase:
    """A new database on the bench server, dropped afterwards."""

    def __init__(self, server: str, name: str):
        self.server, self.name = server, name
        self.url = urlunsplit(urlsplit(server)._replace(path="/" + name))

    def __enter__(self) -> str:
        import psycopg
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.name}")
        return self.url

    def __exit__(self, *exc) -> None:
        import psycopg
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def take_intake_atomically(repo, audit, pack, case, actor: str = "bench") -> dict:
    """decide + save + events + audit entry as one change, as the app takes an intake
    (Repository.save_case_with_events: one transaction on PostgreSQL, the journal on TinyDB)."""
    record = new_record(pack, case, actor)[0]
    events = [event for _, event in intake_events({**record, "id": ""}, actor)]
    return repo.save_case_with_events(record, events, audit=PendingEntry(audit, actor, "case_write", {"detail": "received"}))


def load(repo, records: list[dict]) -> None:
    for start in range(0, len(records), 10_000):
        stored = repo.save_cases_bulk([dict(r) for r in records[start:start + 10_000]])
        repo.add_events_bulk([e for r in stored for e in intake_events(r, "bench")])
    with repo.sql() as conn:
        conn.execute("ANALYZE")


def save_p50(pack, url: str, records: list[dict], fresh: list[dict]) -> float:
    with open_repository(url) as repo:
        load(repo, records)
        audit = open_audit(url)
        times = [_ms(lambda case=case: take_intake_atomically(repo, audit, pack, case)) for case in fresh]
        audit.close()
    return round(statistics.median(times), 2)


def case_list_ms(pack, repo) -> float:
    scoped = ScopedRepository(repo, pack, Access.of(pack, ADMIN))
    queries = [CaseQuery(), CaseQuery(areas=(pack.ids("areas")[0],)), CaseQuery(text="はなこ")]

    def page(query):
        def run() -> None:
            scoped.counts()
            [row_view(pack, c) for c in scoped.case_page(query).rows]
        return run
    return max(_median_ms(page(q)) for q in queries)


def dashboard_ms(pack, repo) -> float:
    scoped = ScopedRepository(repo, pack, Access.of(pack, ADMIN))
    return _median_ms(lambda: (scoped.counts(), scoped.fiscal_years(), scoped.dashboard()))


def impact_s(pack, repo) -> tuple[float, int]:
    import drafts
    from engine.changes.impact import preview
    draft = drafts.one_rule(pack)
    scoped = ScopedRepository(repo, pack, Access.of(pack, ADMIN))
    start = time.perf_counter()
    result = scoped.read_for_impact(lambda cases: preview(cases, pack, draft))      # as 設定 > 公開 reads them
    return round(time.perf_counter() - start, 2), len(result.changed)


# -- 8 writers at once ------------------------------------------------------------------------------
def _writer(where: str, seed: int, ready, counts) -> None:
    pack = load_pack()
    cases = list(demo_cases(pack, 2000, seed=seed))
    repo, audit = open_repository(where), open_audit(where)
    take_intake_atomically(repo, audit, pack, cases[-1], actor=f"w{seed}")     # warm up (rules compiled)
    # Every writer warmed up, then all start together: a fixed start time was missed on a loaded
    # machine, and a writer that started late counted 0.
    ready.wait(timeout=600)
    until, done = time.time() + WRITE_SECONDS, 0
    while time.time() < until:
        take_intake_atomically(repo, audit, pack, cases[done % len(cases)], actor=f"w{seed}")
        done += 1
    counts.put(done)
    repo.close()


def writers_rate(where: str) -> float:
    # Create the schema first: otherwise the writers' start window goes on the first one's migration
    # while the others wait for its lock (on a loaded machine, past the window's end: 0 intakes/s).
    open_repository(where).close()
    context = multiprocessing.get_context("spawn")
    counts, ready = context.Queue(), context.Barrier(WRITERS)
    procs = [context.Process(target=_writer, args=(where, 100 + n, ready, counts)) for n in range(WRITERS)]
    for proc in procs:
        proc.start()
    total = sum(counts.get(timeout=900) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    return total / WRITE_SECONDS


def _writers_rate_measured(where: str) -> float:
    """Intakes per second, from what the writers counted; checked against what the store holds."""
    rate = writers_rate(where)
    with open_repository(where) as repo:
        stored = repo.count_cases() - WRITERS                 # less the warm-up intakes
    if abs(stored - rate * WRITE_SECONDS) > WRITERS:
        raise SystemExit(f"writers counted {rate * WRITE_SECONDS:.0f} intakes, the store holds {stored}")
    return rate


def measure(pack) -> dict:
    server = os.environ.get(ENV)
    if not server:
        raise SystemExit("make bench で実行してください（PostgreSQL のサーバーが必要です: TSUNAGU_TEST_DATABASE_URL）。")
    out: dict = {}
    records = [new_record(pack, c, "bench")[0] for c in demo_cases(pack, 100_000, seed=11)]
    fresh = list(demo_cases(pack, 100, seed=13))
    with FreshDatabase(server, "bench_save") as url:
        out["pg_save_p50_ms_20000"] = save_p50(pack, url, records[:20_000], fresh)
        with open_repository(url) as repo:
            out["pg_case_list_ms_20000"] = case_list_ms(pack, repo)
    with FreshDatabase(server, "bench_100k") as url, open_repository(url) as repo:
        load(repo, records)
        out["pg_case_list_ms_100000"] = case_list_ms(pack, repo)
        out["pg_dashboard_ms_100000"] = dashboard_ms(pack, repo)
        out["pg_impact_preview_s_100000"], out["pg_impact_changed_100000"] = impact_s(pack, repo)
    out.update(writers(server))
    return out


def writers(server: str) -> dict:
    """The 8-writer figures: ROUNDS rounds, each a PostgreSQL phase and a TinyDB phase in turn (the
    order swapped each round), each into a fresh store; the medians, and the median of the rounds'
    ratios. One phase of each, one after the other, read 1.26–2.8 for the same code: the machine's
    load moved between them."""
    pg, files, ratios = [], [], []
    for n in range(ROUNDS):
        def pg_phase() -> float:
            with FreshDatabase(server, f"bench_writers{n}") as url:
                return _writers_rate_measured(url)

        def files_phase() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                return _writers_rate_measured(tmp)
        if n % 2:
            files.append(files_phase())
            pg.append(pg_phase())
        else:
            pg.append(pg_phase())
            files.append(files_phase())
        ratios.append(pg[-1] / files[-1])
    return {"writers8_intakes_per_s_pg": round(statistics.median(pg), 1),
            "writers8_intakes_per_s_tinydb": round(statistics.median(files), 1),
            "writers8_pg_vs_tinydb": round(statistics.median(ratios), 2),
            "writers8_pg_vs_tinydb_rounds": [round(r, 2) for r in ratios]}


TARGETS = {"pg_save_p50_ms_20000": ("<=", 20), "pg_case_list_ms_100000": ("<=", 300),
           "pg_dashboard_ms_100000": ("<=", 500), "writers8_pg_vs_tinydb": (">=", 4)}


if __name__ == "__main__":
    print(json.dumps(measure(load_pack()), ensure_ascii=False, indent=2))
