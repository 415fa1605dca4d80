"""Fictional demo cases, spread over areas, channels, consent and concerns.

Names are random pairings from short lists and carry ``demo: true``; they describe
nobody. Used for pilots, training and benchmarks.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Iterator

from engine.casework.wareki import today as japan_today
from engine.errors import TsunaguError
from engine.pack.model import Pack

#: Meta key marking what a store is for: "demo" or "training". Fictional cases go only into
#: a marked store, never into the live one (a production store is never marked).
KIND_KEY = "store.kind"
DEMO_KINDS = ("demo", "training")


class DemoError(TsunaguError):
    """Demo data refused: the store is not a demo or training store."""


def store_kind(repo) -> str:
    """"demo", "training", or "" for a live (production) store."""
    return repo.get_meta(KIND_KEY) or ""


def mark_store(repo, kind: str) -> None:
    """Mark ``repo`` as a demo or training store; refused when it already holds real cases."""
    if kind not in DEMO_KINDS:
        raise DemoError(f"保存先の種類は {'・'.join(DEMO_KINDS)} のどれかです（指定: {kind!r}）。")
    if store_kind(repo) == kind:
        return
    real = repo.read_cases(lambda cases: sum(1 for c in cases if not c.get("demo")))
    if real:
        raise DemoError(f"この保存先には本番のケースが {real} 件あります。デモ・研修用の保存先にはできません。"
                        "空のフォルダを --data に指定してください。")
    repo.set_meta(KIND_KEY, kind)

_SURNAMES = [("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
             ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("松本", "マツモト")]
_GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("一郎", "イチロウ"), ("陽子", "ヨウコ"), ("健一", "ケンイチ"),
          ("美咲", "ミサキ"), ("翔太", "ショウタ"), ("和子", "カズコ"), ("誠", "マコト"), ("由美", "ユミ")]
def demo_case(pack: Pack, rng: random.Random, day: dt.date) -> dict:
    concerns = pack.ids("concerns")
    person_concerns = rng.sample(concerns, k=rng.choice([1, 1, 1, 2, 2, 3]))
    household = []
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        household.append({"relation": rng.choice([r for r in pack.ids("relations") if r != pack.members.self_relation]),
                          "age": rng.randint(0, 95),
                          "concerns": rng.sample(concerns, k=rng.choice([0, 1, 1, 2])),
                          "consent": rng.choice(pack.ids("consent"))})
    resident = rng.random() > 0.05
    surname, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
    case = {
        "received_on": day.isoformat(),
        "channel": rng.choice(pack.ids("channels")),
        "resident": resident,
        "person": {"name": f"{surname[0]} {given[0]}", "kana": f"{surname[1]} {given[1]}",
                   "age": rng.randint(15, 98), "concerns": person_concerns, "consent": rng.choice(pack.ids("consent"))},
        "household": household,
        "summary": "、".join(pack.label("concerns", c) for c in person_concerns) + "（デモデータ）",
    }
    if resident:
        case["area"] = rng.choice(pack.ids("areas"))
    return case


def demo_cases(pack: Pack, n: int, seed: int = 2026, end: dt.date | None = None) -> Iterator[dict]:
    """``n`` fictional cases received over the year before ``end``."""
    rng = random.Random(seed)
    end = end or japan_today()
    for _ in range(n):
        yield demo_case(pack, rng, end - dt.timedelta(days=rng.randint(0, 364)))


#: Who confirmed, sent and answered in the demo: a name staff read on the page (主担当, 送った人).
DEMO_STAFF = "デモの職員（架空）"


def demo_handoff(pack: Pack, record: dict, rng: random.Random, today: dt.date,
                 actor: str = DEMO_STAFF) -> tuple[dict, list[dict]]:
    """What staff would have done with a demo case by ``today``: most are confirmed (a few with an
    agency removed or added, with a reason), referrals accepted, returned or still pending (some
    past their limit), and older cases moved along the lifecycle."""
    from engine.casework.calendar import add_working_days
    from engine.casework.handoff import confirm, recommended
    from engine.casework.referrals import answer
    received = dt.date.fromisoformat(record["intake"]["received_on"])
    age = (today - received).days
    if age < 2 or (age < 21 and rng.random() < 0.5) or rng.random() < 0.03:
        return record, []                          # not confirmed yet (mostly recent ones): the recommendation stands
    chosen, reasons = recommended(record), {}
    codes = pack.ids("override_reasons")
    if len(chosen["agencies"]) > 1 and rng.random() < 0.2:
        dropped = chosen["agencies"].pop()
        reasons[f"agencies:{dropped}"] = {"text": "すでに別の機関が関わっている（デモデータ）", "code": codes[0] if codes else None}
    if rng.random() < 0.08:
        extra = rng.choice([a for a in pack.ids("agencies") if a not in chosen["agencies"]])
        chosen["agencies"].append(extra)
        reasons[f"agencies:{extra}"] = {"text": "面談で分かった事情から加える（デモデータ）", "code": codes[-1] if codes else None}
    owner = chosen["agencies"][0] if chosen["agencies"] else rng.choice(pack.ids("agencies"))
    record, events = confirm(pack, record, chosen, reasons, actor, None, received, {"agency": owner, "worker": actor})
    for ref in list(record["referrals"]):
        roll = rng.random()
        if age < 7 or (age < 30 and roll < 0.4) or roll < 0.03:
            continue                                # still waiting; older ones are overdue
        answered = min(today, add_working_days(received, rng.randint(1, 4)))
        record, more = answer(pack, record, ref["id"], roll > 0.12, actor, answered,
                              "" if roll > 0.12 else "対象の方の状況から、別の窓口のほうが合う（デモデータ）")
        events += more
    open_statuses = [s.id for s in pack.statuses if not s.get("final")]
    if age > 14 and len(open_statuses) > 1:
        status = open_statuses[rng.randint(1, min(len(open_statuses) - 1, 1 + age // 45))]
        # Most cases are within their status's limit; about one in ten has run past it.
        from engine.casework.duties import next_due
        limit = next_due(pack, {"status": status, "status_since": today.isoformat()})
        days = (limit - today).days if limit else 100
        since = max(received, today - dt.timedelta(days=rng.randint(0, days + days // 8)))
        events.append({"type": "status_changed", "by": actor, "from": record["status"], "to": status, "note": "デモデータ"})
        record.update(status=status, status_since=since.isoformat())
    return record, events


def save_demo(repo, pack: Pack, n: int, seed: int = 2026, actor: str = "demo") -> int:
    """Route ``n`` fictional cases, hand most of them over (:func:`demo_handoff`) and store them
    with their events; returns n.

    Only into a store marked demo or training (``mark_store``): the live store never gets them.
    """
    if store_kind(repo) not in DEMO_KINDS:
        raise DemoError("デモデータは、デモ用・研修用の保存先にだけ作れます（本番のデータには混ぜません）。"
                        "`tsunagu demo-data --data 空のフォルダ` で、デモ用の保存先を作ってください。")
    from engine.casework.cases import intake_events, new_record
    from storage.records import new_case_id
    # Ids are given up front: the store returns the records in its own order, and each
    # case's later events must follow its intake events.
    taken = repo.read_cases(lambda cases: {c.get("id") for c in cases})
    records, later = [], {}
    rng, today = random.Random(seed + 1), japan_today()
    for case in demo_cases(pack, n, seed=seed, end=today):
        record = new_record(pack, case, actor=actor)[0]
        record["demo"] = True
        record["id"] = new_case_id(lambda c: c in taken)
        taken.add(record["id"])
        record, later[record["id"]] = demo_handoff(pack, record, rng, today)
        records.append(record)
    # One change: after a crash, all the demo cases with their events, or none of them.
    stored = repo.save_cases_bulk(records, [e for r in records for e in [*intake_events(r, actor),
                                                                        *((r["id"], ev) for ev in later[r["id"]])]])
    return len(stored)
