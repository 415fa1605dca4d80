"""``make bench``: the speed targets, measured in one run on this machine.

Writes bench/results.json and prints a table. Ratios between numbers of the same run
(engine vs the plain-Python oracle, TinyDB vs sqlite3) are what to compare across
machines; absolute numbers depend on the machine.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from engine.casework.cases import intake_events, new_record, take_intake  # noqa: E402
from engine.casework.demo import demo_cases  # noqa: E402
from engine.pack import DEFAULT_PACK, load_pack  # noqa: E402
from engine.rules.decide import decide  # noqa: E402
from storage import open_repository, warm_up  # noqa: E402

ENGINE_CASES = 10_000
SIZES = (1_000, 5_000, 20_000)
SAVES = 100


def rate(func, items) -> float:
    start = time.perf_counter()
    for item in items:
        func(item)
    return len(items) / (time.perf_counter() - start)


def engine_rates(pack) -> dict:
    import oracle
    cases = list(demo_cases(pack, ENGINE_CASES, seed=7))
    decide(pack, cases[0])                         # compile the ruleset outside the timing
    ref = oracle.load_pack_data(DEFAULT_PACK)
    engine = max(rate(lambda c: decide(pack, c), cases) for _ in range(2))
    reference = max(rate(lambda c: oracle.reference_decide(ref, c), cases) for _ in range(2))
    return {"engine_cases_per_s": round(engine), "reference_cases_per_s": round(reference),
            "engine_vs_reference": round(engine / reference, 2)}


def save_p50(pack, backend: str, preloaded: list[dict], fresh: list[dict]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        repo = open_repository(tmp, backend)
        try:
            # A realistic store: every case already has its intake events.
            stored = repo.save_cases_bulk([dict(r) for r in preloaded])
            repo.add_events_bulk([e for r in stored for e in intake_events(r, "bench")])
            times = []
            for case in fresh:
                start = time.perf_counter()
                take_intake(repo, pack, case, actor="bench")
                times.append((time.perf_counter() - start) * 1000)
            return round(statistics.median(times), 2)
        finally:
            repo.close()


def impact_seconds(pack, size: int = 20_000) -> dict:
    """The 設定 > 公開 impact preview over ``size`` stored cases.

    The drafts are bench/drafts.py's. A one-rule change is timed as staff meet it: the first
    preview after the app starts (``..._first_s``), then further edits of the same rule, each a new
    draft (``impact_preview_one_rule_s``: the slowest of three). A derived fact added decides every
    case again: best of 3.
    """
    import drafts
    from engine.casework.demo import mark_store, save_demo
    from engine.changes.impact import preview
    derived = drafts.derived_added(pack)
    with tempfile.TemporaryDirectory() as tmp:
        with open_repository(tmp) as repo:
            mark_store(repo, "demo")
            save_demo(repo, pack, size, seed=19, actor="bench")
        with open_repository(tmp) as repo:
            warm_up(repo)                              # as the app opens the store when it starts

            def once(draft) -> tuple[float, object]:
                start = time.perf_counter()
                result = repo.read_cases(lambda cases: preview(cases, pack, draft))
                return time.perf_counter() - start, result
            first_s, one = once(drafts.one_rule(pack, 1))
            edits = [once(drafts.one_rule(pack, value)) for value in (3, 4, 5)]
            full_s, full = min((once(derived) for _ in range(3)), key=lambda run: run[0])
    return {f"impact_preview_s_{size}": round(full_s, 2), f"impact_changed_{size}": len(full.changed),
            f"impact_preview_one_rule_s_{size}": round(max(s for s, _ in edits), 2),
            f"impact_preview_one_rule_first_s_{size}": round(first_s, 2),
            f"impact_one_rule_changed_{size}": len(one.changed)}


def main() -> int:
    pack = load_pack()
    # The machine is shared: the load average says how much the numbers below were squeezed.
    results: dict = {"machine": f"{platform.machine()} {platform.python_version()}",
                     "load_average_at_start": round(os.getloadavg()[0], 1), **engine_rates(pack)}
    records = [new_record(pack, c, "bench")[0] for c in demo_cases(pack, max(SIZES), seed=11)]
    fresh = list(demo_cases(pack, SAVES, seed=13))
    for size in SIZES:
        results[f"save_p50_ms_{size}"] = save_p50(pack, "tinydb", records[:size], fresh)
        results[f"sqlite_save_p50_ms_{size}"] = save_p50(pack, "sqlite", records[:size], fresh)
    import caselist  # bench/caselist.py: the ケース一覧 page at 20,000 cases
    results.update(caselist.measure(pack))
    results.update(impact_seconds(pack))
    import postgres  # bench/postgres.py: the PostgreSQL backend, on the server make bench starts
    results.update(postgres.measure(pack))
    results["load_average_at_end"] = round(os.getloadavg()[0], 1)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    targets = {"engine_cases_per_s": (">=", 15_000), "engine_vs_reference": (">=", 2),
               f"save_p50_ms_{max(SIZES)}": ("<=", 50), "case_list_ms_20000": ("<=", 1_000),
               "case_list_cold_ms_20000": ("<=", 300), "store_open_ms_20000": ("<=", 300), "dashboard_ms_20000": ("<=", 150),
               "dashboard_after_save_ms_20000": ("<=", 150),
               "impact_preview_s_20000": ("<=", 3), "impact_preview_one_rule_s_20000": ("<=", 1),
               **postgres.TARGETS}
    print(f"{'measure':32} {'value':>12}  target")
    for key, value in results.items():
        op, goal = targets.get(key, ("", ""))
        ok = "" if not op else ("OK" if (value >= goal if op == ">=" else value <= goal) else "MISSED")
        print(f"{key:32} {value!s:>12}  {op}{goal} {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
