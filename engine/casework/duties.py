"""Owner and next date: when someone must look at a case again, and 「今日やること」.

Each status may declare in ``lifecycle.yaml`` how long a case may stay in it (``stay:``
days, working_days or months). The clock starts when the case entered the status
(``status_since``; an old record without it counts from its 受付日). Referrals waiting for
an answer have their own due day (``referrals.py``). Pure functions; "today" is passed in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

from dateutil.relativedelta import relativedelta

from engine.casework import referrals as refs
from engine.casework.calendar import add_working_days
from engine.casework.caselist import as_mapping, as_str, is_mapping, received_on, status_of
from engine.casework.handoff import confirmed, differences, recommended
from engine.casework.wareki import wareki
from engine.pack.model import Pack

WEEK = 7


def status_since(case: Mapping) -> str:
    """ISO day the case entered its current status ("" when unknown)."""
    return (as_str(case.get("status_since")) or received_on(case))[:10]


def next_due(pack: Pack, case: Mapping) -> dt.date | None:
    """The day by which the case must move on or be looked at again (None: final or no limit)."""
    status = status_of(case)
    stay = next((as_mapping(s.get("stay")) for s in pack.statuses if s.id == status and not s.get("final")), None)
    since = status_since(case)
    if not stay or not since:
        return None
    try:
        start = dt.date.fromisoformat(since)
    except ValueError:
        return None
    if "working_days" in stay:
        return add_working_days(start, int(stay["working_days"]))
    if "months" in stay:
        return start + relativedelta(months=int(stay["months"]))
    return start + dt.timedelta(days=int(stay.get("days", 0)))


def case_view(pack: Pack, case: Mapping, today: dt.date) -> dict:
    """The case as ``tsunagu case show`` prints it: both routings, referrals, owner, next date."""
    due = next_due(pack, case)
    decision = as_mapping(case.get("decision"))
    conf = as_mapping(case.get("confirmed"))
    referrals = [refs.view(pack, r, today) for r in refs.referrals_of(case)]
    return {
        "id": case.get("id"), "status": status_of(case), "received_on": received_on(case) or None,
        "recommendation": {**recommended(case), "priority": decision.get("priority"),
                           "config_version": decision.get("config_version") or case.get("config_version")},
        "confirmed": None if confirmed(case) is None else {
            **confirmed(case), "by": conf.get("by"), "on": conf.get("on"),
            "recommendation_version": conf.get("recommendation_version"),
            "changes": [dict(c) for c in conf.get("changes") or () if is_mapping(c)]},
        "differences": differences(case),
        "referrals": referrals,
        "owner": refs.owner_of(case),
        "next_due": due.isoformat() if due else None,
        "overdue": bool(due and due < today) or any(r["overdue"] for r in referrals),
    }


def is_overdue(pack: Pack, case: Mapping, today: dt.date) -> bool:
    """Past its status limit, or holding a referral nobody accepted in time."""
    due = next_due(pack, case)
    return bool(due and due < today) or any(refs.is_overdue(r, today) for r in refs.referrals_of(case))


def due_by(pack: Pack, case: Mapping, day: dt.date) -> bool:
    """Is something due on or before ``day``: the status limit, or a referral still waiting?"""
    due = next_due(pack, case)
    if due and due <= day:
        return True
    return any(r.get("state") == "pending" and r.get("due") and str(r.get("due")) <= day.isoformat()
               for r in refs.referrals_of(case))


def owned_by(case: Mapping, user_id: str, agency: str | None) -> bool:
    """Is the user the 主担当's worker, or their agency the 主担当's agency?"""
    owner = refs.owner_of(case)
    return owner["worker"] == user_id or (agency is not None and owner["agency"] == agency)


def involves(case: Mapping, agency: str) -> bool:
    """Is ``agency`` the owner, a referral's receiver or sender, or in the case's routing?"""
    if refs.owner_of(case)["agency"] == agency:
        return True
    if any(agency in (r.get("agency"), r.get("from_agency")) for r in refs.referrals_of(case)):
        return True
    routing = confirmed(case) or recommended(case)
    return agency in routing["agencies"] or as_mapping(case.get("intake")).get("receiving_agency") == agency


def due_columns(pack: Pack, case: Mapping, today: dt.date) -> dict[str, str]:
    """ケース一覧's extra columns: 主担当, 次の期限 (marked when past) and the referrals' states."""
    owner = refs.owner_of(case)
    due = next_due(pack, case)
    states = [refs.STATE_LABELS.get(r.get("state"), "") + ("⚠" if refs.is_overdue(r, today) else "")
              for r in refs.referrals_of(case)]
    return {"主担当": pack.label("agencies", owner["agency"]) if owner["agency"] else "",
            "次の期限": (("⚠ " if due < today else "") + wareki(due.isoformat(), western=False)) if due else "",
            "つなぎ": "、".join(states) if states else ("未確定" if confirmed(case) is None else "")}


@dataclass(frozen=True)
class Todo:
    """One line of 「今日やること」."""

    case_id: str
    what: str              # Japanese: what to do
    due: str               # ISO day
    overdue: bool
    kind: str              # status / accept / follow_up


def todo(pack: Pack, cases: Iterable[Mapping], user_id: str, agency: str | None, today: dt.date,
         days: int = WEEK) -> list[Todo]:
    """What is overdue or due within ``days`` for this user or their agency, the most urgent first.

    - cases they own (worker is the user, or owner agency is theirs) past or near their status limit;
    - referrals to their agency waiting for an answer;
    - referrals they or their agency sent that nobody accepted in time;
    - referrals they or their agency sent that came back (返送) and nobody has acted on yet:
      the agency is still in the confirmed routing and no newer referral went to it.
    """
    horizon = (today + dt.timedelta(days=days)).isoformat()
    out: list[Todo] = []
    for case in cases:
        if not is_mapping(case):
            continue
        cid = str(case.get("id"))
        due = next_due(pack, case)
        if owned_by(case, user_id, agency) and due and due.isoformat() <= horizon:
            label = pack.label("statuses", status_of(case) or "")
            out.append(Todo(cid, f"「{label}」の期限（次の状態へ進めるか見直す）", due.isoformat(), due < today, "status"))
        for ref in refs.referrals_of(case):
            if ref.get("state") == "returned" and _sent_by(ref, user_id, agency) and _unanswered_return(case, ref):
                out.append(Todo(cid, f"{pack.label('agencies', str(ref.get('agency')))}がつなぎを返送しました"
                                     "（理由を読み、振り分けを見直して確定し直す）",
                                str(ref.get("answered_on") or ""), False, "returned"))
            if ref.get("state") != "pending":
                continue
            rdue = str(ref.get("due") or "")
            if agency is not None and ref.get("agency") == agency:
                out.append(Todo(cid, "つなぎを受理するか返送する", rdue, refs.is_overdue(ref, today), "accept"))
            elif _sent_by(ref, user_id, agency) and refs.is_overdue(ref, today):
                out.append(Todo(cid, f"{pack.label('agencies', str(ref.get('agency')))}が期限までに受理していません（連絡する）",
                                rdue, True, "follow_up"))
    return sorted(out, key=lambda t: (not t.overdue, t.due, t.case_id))


def _sent_by(ref: Mapping, user_id: str, agency: str | None) -> bool:
    return ref.get("sent_by") == user_id or (agency is not None and ref.get("from_agency") == agency)


def _unanswered_return(case: Mapping, ref: Mapping) -> bool:
    """A returned referral still waiting for the sender: its agency is still confirmed and
    nothing was sent to it since (re-confirming sends a new referral; removing it ends this)."""
    routing = confirmed(case)
    if routing is None or ref.get("agency") not in routing["agencies"]:
        return False
    number = _number(ref)
    return not any(r.get("agency") == ref.get("agency") and _number(r) > number for r in refs.referrals_of(case))


def _number(ref: Mapping) -> int:
    ref_id = str(ref.get("id") or "")
    return int(ref_id[1:]) if ref_id[1:].isdigit() else 0
