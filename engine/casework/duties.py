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
# How a case's status start is read is shared with the PostgreSQL store's columns.
from storage.case_fields import status_since, status_since_day  # noqa: F401

WEEK = 7


def stay_due(pack: Pack, status: str | None, start: dt.date) -> dt.date | None:
    """The day a case that entered ``status`` on ``start`` must move on by (None: final or no limit)."""
    stay = next((as_mapping(s.get("stay")) for s in pack.statuses if s.id == status and not s.get("final")), None)
    if not stay:
        return None
    if "working_days" in stay:
        return add_working_days(start, int(stay["working_days"]))
    if "months" in stay:
        return start + relativedelta(months=int(stay["months"]))
    return start + dt.timedelta(days=int(stay.get("days", 0)))


def next_due(pack: Pack, case: Mapping) -> dt.date | None:
    """The day by which the case must move on or be looked at again (None: final or no limit)."""
    start = status_since_day(case)
    return stay_due(pack, status_of(case), start) if start else None


def first_start_due_after(pack: Pack, status: str, day: dt.date) -> dt.date | None:
    """The earliest day a case could have entered ``status`` and be due after ``day`` (None: the
    status has no limit). Dues never go back as the start moves on, so a case in that status is
    due on or before ``day`` exactly when it entered the status before this: the one comparison
    PostgreSQL makes (storage/pg_queries.duty_filters).

    >>> from engine.pack import load_pack
    >>> pack = load_pack()
    >>> status = next(s.id for s in pack.statuses if (s.get("stay") or {}).get("days"))
    >>> start = first_start_due_after(pack, status, dt.date(2026, 6, 1))
    >>> stay_due(pack, status, start) > dt.date(2026, 6, 1) >= stay_due(pack, status, start - dt.timedelta(days=1))
    True
    """
    if stay_due(pack, status, day) is None:
        return None
    low, high = day - dt.timedelta(days=366 * 30), day + dt.timedelta(days=1)   # due(high) > day always
    if stay_due(pack, status, low) > day:
        return low
    while high - low > dt.timedelta(days=1):             # due(low) <= day < due(high)
        middle = low + (high - low) // 2
        low, high = (low, middle) if stay_due(pack, status, middle) > day else (middle, high)
    return high


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
    return any(r.get("state") == "pending" and as_str(r.get("due")) and r["due"] <= day.isoformat()
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


@dataclass(frozen=True)
class DutyFilter:
    """ケース一覧's 期限 and 「自分」 filters: past a limit (``overdue``), something due within
    ``due_within`` days (overdue included), the 主担当 is the user or their agency (``mine``)."""

    today: dt.date
    overdue: bool = False
    due_within: int | None = None
    mine: bool = False

    def __bool__(self) -> bool:
        return self.overdue or self.due_within is not None or self.mine

    def keeps(self, pack: Pack, case: Mapping, user_id: str, agency: str | None) -> bool:
        """The filters in Python, over a case record."""
        return ((not self.overdue or is_overdue(pack, case, self.today))
                and (self.due_within is None or due_by(pack, case, self.today + dt.timedelta(days=self.due_within)))
                and (not self.mine or owned_by(case, user_id, agency)))

    def bounds(self, pack: Pack) -> list[tuple[str, dict[str, dt.date], str]]:
        """The filters as PostgreSQL asks them (storage/pg_queries.duty_filters): for each of the
        期限 filters, ("<" or "<=", {status: the first start due after the last day allowed}, that
        day for a referral's due): a case passes when it entered its status before its bound, or a
        pending referral's due day compares so."""
        out = []
        if self.overdue:                          # due before today: due on or before yesterday
            out.append(("<", self._starts(pack, self.today - dt.timedelta(days=1)), self.today.isoformat()))
        if self.due_within is not None:
            last = self.today + dt.timedelta(days=self.due_within)
            out.append(("<=", self._starts(pack, last), last.isoformat()))
        return out

    @staticmethod
    def _starts(pack: Pack, last: dt.date) -> dict[str, dt.date]:
        starts = {s.id: first_start_due_after(pack, s.id, last) for s in pack.statuses}
        return {status: start for status, start in starts.items() if start is not None}


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
    return sorted(out, key=_todo_order)


def _todo_order(item: Todo) -> tuple:
    """The most urgent first; also for joining lists made apart (``merged_todo``)."""
    return not item.overdue, item.due, item.case_id


@dataclass(frozen=True)
class TodoLists:
    """What 今日やること shows: ``todo``'s items, the referrals waiting for the agency's answer
    (受付待ち, oldest due first), those the user or their agency sent (newest first), each as
    (case id, referral), and the name of the person of each case they name (masked when the
    user does not own the case)."""

    items: tuple[Todo, ...]
    inbox: tuple[tuple[str, Mapping], ...]
    sent: tuple[tuple[str, Mapping], ...]
    names: Mapping[str, str]


def todo_lists(pack: Pack, cases: Iterable[Mapping], user_id: str, agency: str | None, today: dt.date,
               days: int = WEEK) -> TodoLists:
    """``TodoLists`` over ``cases``: one pass; of the cases only the listed referrals are copied."""
    cases = [c for c in cases if is_mapping(c)]
    items = todo(pack, cases, user_id, agency, today, days)
    # Copies of the referrals (a few hundred at most): the answer is kept and read outside the
    # store's lock, and a save edits the stored records in place.
    inbox = [(str(c.get("id")), dict(r)) for c, r in refs.inbox(cases, agency)]
    sent = [(str(c.get("id")), dict(r)) for c, r in refs.sent(cases, agency, user_id)]
    named = {t.case_id for t in items} | {cid for cid, _ in inbox} | {cid for cid, _ in sent}
    names = {}
    for case in cases:
        cid = str(case.get("id"))
        if cid in named:
            name = as_mapping(as_mapping(case.get("intake")).get("person")).get("name")
            names[cid] = name if isinstance(name, str) else ""
    return TodoLists(tuple(items), tuple(inbox), tuple(sent), names)


def merged_todo(parts: Iterable[TodoLists]) -> TodoLists:
    """One ``TodoLists`` of the parts made over disjoint sets of cases, in the order the cases came:
    the same as ``todo_lists`` over all of them (each list is sorted again by the same key, and a
    stable sort keeps the cases' order among equals)."""
    parts = list(parts)
    return TodoLists(
        tuple(sorted((t for p in parts for t in p.items), key=_todo_order)),
        tuple(sorted((x for p in parts for x in p.inbox), key=lambda cr: refs.inbox_order(*cr))),
        tuple(sorted((x for p in parts for x in p.sent), key=lambda cr: refs.sent_order(*cr), reverse=True)),
        {k: v for p in parts for k, v in p.names.items()})


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
