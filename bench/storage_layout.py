"""Measure what a save costs as the store grows: ``python bench/storage_layout.py [1000 20000 ...]``.

For each backend and size: bulk-load demo cases, then time single saves
(update of a random case with its expected revision), count the bytes the
process hands to ``write()`` per save (``wchar`` in /proc/self/io: the bytes
rewritten, whatever the backend's layout), and time ``list_cases``, cold (fresh
open) and warm. ``tinydb-single-file`` is TinyDB's default JSONStorage, for
comparison with what the sharded, atomic backend replaced.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tinydb import Query, TinyDB

from storage import open_repository

SAVES = 200


def demo_case(n: int) -> dict:
    """A consultation of realistic size (about 700 bytes as UTF-8 JSON)."""
    return {
        "name": f"相談者 {n:05d}", "kana": "ソウダンシャ", "birth": "1944-04-01", "district": "第3地区",
        "address": "大阪府阪南市尾崎町1丁目2番3号 つなぐ荘101",
        "memo": "母（82歳）の介護負担と長男（51歳）のひきこもり。生活費の不安あり。地域包括支援センターと相談支援事業所の同席を希望。",
        "household": [{"続柄": "本人", "年齢": 82}, {"続柄": "長男", "年齢": 51}],
        "needs": ["介護", "ひきこもり", "生活困窮"], "flags": {"緊急": False, "虐待疑い": False},
    }


def written_chars() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_repository(backend: str, size: int, root: Path) -> dict:
    data = root / f"{backend}-{size}"
    with open_repository(data, backend) as repo:
        started = time.perf_counter()
        ids = [c["id"] for c in repo.save_cases_bulk([demo_case(n) for n in range(size)])]
        load = time.perf_counter() - started
        rng = random.Random(size)
        times, before = [], written_chars()
        for case_id in rng.sample(ids, SAVES):
            case = repo.get_case(case_id)
            case["memo"] += "（追記）"
            started = time.perf_counter()
            repo.save_case(case, expected_revision=case["revision"])
            times.append(time.perf_counter() - started)
        per_save = (written_chars() - before) / SAVES
    with open_repository(data, backend) as repo:
        started = time.perf_counter()
        count = len(repo.list_cases())
        cold = time.perf_counter() - started
        warm = []
        for _ in range(5):
            started = time.perf_counter()
            repo.list_cases()
            warm.append(time.perf_counter() - started)
    if count != size:
        raise SystemExit(f"{backend}: list_cases returned {count} of {size} cases")
    return {"load": load, "per_save": per_save, "p50": statistics.median(times),
            "p90": statistics.quantiles(times, n=10)[-1], "cold": cold, "warm": statistics.median(warm)}


def bench_single_file(size: int, root: Path) -> dict:
    db = TinyDB(root / f"single-{size}.json", ensure_ascii=False)
    table = db.table("cases")
    table.insert_multiple({**demo_case(n), "id": f"S{n:05d}"} for n in range(size))
    q, times, before = Query(), [], written_chars()
    for n in random.Random(size).sample(range(size), 20):
        started = time.perf_counter()
        table.update({"memo": "更新"}, q.id == f"S{n:05d}")
        times.append(time.perf_counter() - started)
    per_save = (written_chars() - before) / 20
    db.close()
    return {"per_save": per_save, "p50": statistics.median(times)}


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in sizes:
            for backend in ("tinydb", "sqlite"):
                r = bench_repository(backend, size, root)
                print(f"{backend:7} {size:>6} cases: bulk load {ms(r['load'])}; save p50 {ms(r['p50'])}, "
                      f"p90 {ms(r['p90'])}; {r['per_save'] / 1024:.1f} KiB written per save; "
                      f"list_cases cold {ms(r['cold'])}, warm {ms(r['warm'])}")
            r = bench_single_file(size, root)
            print(f"tinydb-single-file {size:>6} cases: save p50 {ms(r['p50'])}; "
                  f"{r['per_save'] / 1024:.1f} KiB written per save (not atomic)")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 20000])
