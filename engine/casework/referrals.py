"""Referrals (つなぎ): a confirmed agency is asked to take the case, and accepts or returns it.

A referral lives inside the case record (``case["referrals"]``), so every storage backend
keeps it without a method of its own. Its ``due`` is the last working day on which the
receiving agency should answer: ``lifecycle.yaml referrals.accept_within`` working days
after it was sent (by agency kind; weekends, holidays and 12/29–1/3 skipped). Pure
functions: the date of "today" is always passed in.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

from engine.casework.calendar import add_working_days
from engine.casework.caselist import as_mapping, as_str, is_mapping
from engine.errors import TsunaguError
from engine.pack.model import Pack

STATES = ("pending", "accepted", "returned")
STATE_LABELS = {"pending": "受理待ち", "accepted": "受理", "returned": "返送"}


class HandoffError(TsunaguError):
    """A confirmation, referral answer or reassignment that cannot be made as asked."""


def accept_days(pack: Pack, agency_id: str) -> int:
    """Working days ``agency_id`` has to accept a referral (its kind's limit, else the default)."""
    kind = next((a.get("kind") for a in pack.agencies if a.id == agency_id), None)
    return int(pack.accept_days.get(kind, pack.accept_days.get("", 5)))


def referrals_of(case: Mapping) -> list[dict]:
    """The case's referrals (an old or odd record has none)."""
    refs = case.get("referrals")
    return [r for r in refs if is_mapping(r)] if isinstance(refs, list) else []


def new_referral(pack: Pack, case: Mapping, agency_id: str, actor: str, from_agency: str | None,
                 today: dt.date) -> dict:
    """A pending referral to ``agency_id``, due after the agency kind's working days.

    A referral to the sender's own agency is accepted at once: nobody hands a case to themselves.
    """
    number = 1 + max((int(r["id"][1:]) for r in referrals_of(case)
                      if isinstance(r.get("id"), str) and r["id"][1:].isdigit()), default=0)
    ref = {"id": f"R{number}", "agency": agency_id, "state": "pending", "sent_on": today.isoformat(),
           "sent_by": actor, "from_agency": from_agency,
           "due": add_working_days(today, accept_days(pack, agency_id)).isoformat()}
    if from_agency is not None and from_agency == agency_id:
        ref.update(state="accepted", answered_on=today.isoformat(), answered_by=actor, reason="受け付けた機関自身")
    return ref


def find(case: Mapping, referral_id: str) -> dict:
    for ref in referrals_of(case):
        if ref.get("id") == referral_id:
            return ref
    raise HandoffError(f"つなぎ {referral_id} はこのケースにありません。画面を開き直してください。")


def answer(pack: Pack, case: dict, referral_id: str, accept: bool, actor: str, today: dt.date,
           reason: str = "", reason_code: str | None = None) -> tuple[dict, list[dict]]:
    """The case with referral ``referral_id`` accepted or returned, and the event to record.

    A return needs a reason (free text; a code from ``return_reasons`` may be added).
    """
    case = {**case, "referrals": [dict(r) for r in referrals_of(case)]}
    ref = find(case, referral_id)
    if ref.get("state") != "pending":
        raise HandoffError(f"このつなぎはすでに「{STATE_LABELS.get(ref.get('state'), ref.get('state'))}」です。"
                           "画面を開き直して、いまの状態を確かめてください。")
    reason = (reason or "").strip()
    if not accept and not reason:
        raise HandoffError("返送するときは理由を書いてください（送った機関が読みます）。")
    if reason_code and reason_code not in pack.ids("return_reasons"):
        raise HandoffError(f"返送の理由の区分「{reason_code}」は vocabularies.yaml の return_reasons にありません。")
    state = "accepted" if accept else "returned"
    ref.update(state=state, answered_on=today.isoformat(), answered_by=actor, reason=reason,
               reason_code=reason_code or None)
    event = {"type": f"referral_{state}", "by": actor, "referral": ref["id"], "agency": ref["agency"],
             "reason": reason, "reason_code": reason_code or None}
    return case, [event]


def is_overdue(ref: Mapping, today: dt.date) -> bool:
    """Still pending after its due day?

    >>> is_overdue({"state": "pending", "due": "2026-11-24"}, dt.date(2026, 11, 25))
    True
    >>> is_overdue({"state": "accepted", "due": "2026-11-24"}, dt.date(2026, 11, 25))
    False
    """
    due = as_str(ref.get("due"))
    return ref.get("state") == "pending" and bool(due) and due < today.isoformat()


def inbox_order(case_id: str, ref: Mapping) -> tuple[str, str]:
    """The inbox's sort key (oldest due first), also for joining inboxes made apart."""
    return str(ref.get("due") or ""), case_id


def sent_order(case_id: str, ref: Mapping) -> tuple[str, str]:
    """The sent list's sort key (sorted newest first), also for joining lists made apart."""
    return str(ref.get("sent_on") or ""), case_id


def inbox(cases: Iterable[Mapping], agency_id: str | None) -> list[tuple[Mapping, dict]]:
    """(case, referral) pending at ``agency_id``, the oldest due first: 受付待ちのつなぎ."""
    if not agency_id:
        return []
    found = [(c, r) for c in cases if is_mapping(c) for r in referrals_of(c)
             if r.get("agency") == agency_id and r.get("state") == "pending"]
    return sorted(found, key=lambda cr: inbox_order(str(cr[0].get("id")), cr[1]))


def sent(cases: Iterable[Mapping], agency_id: str | None, user_id: str) -> list[tuple[Mapping, dict]]:
    """(case, referral) sent by this user or their agency, newest first: the sender's list."""
    found = [(c, r) for c in cases if is_mapping(c) for r in referrals_of(c)
             if r.get("sent_by") == user_id or (agency_id and r.get("from_agency") == agency_id)]
    return sorted(found, key=lambda cr: sent_order(str(cr[0].get("id")), cr[1]), reverse=True)


def overdue_count(cases: Iterable[Mapping], today: dt.date) -> int:
    """Referrals left pending past their due day, over all ``cases``."""
    return sum(is_overdue(r, today) for c in cases if is_mapping(c) for r in referrals_of(c))


def view(pack: Pack, ref: Mapping, today: dt.date) -> dict[str, Any]:
    """A referral as the JSON of ``tsunagu case show``: agency, state, due, and the rest."""
    out = {"id": ref.get("id"), "agency": ref.get("agency"), "agency_name": pack.label("agencies", str(ref.get("agency"))),
           "state": ref.get("state"), "due": ref.get("due"), "overdue": is_overdue(ref, today),
           "sent_on": ref.get("sent_on"), "sent_by": ref.get("sent_by"), "from_agency": ref.get("from_agency")}
    for key in ("answered_on", "answered_by", "reason", "reason_code"):
        if ref.get(key) is not None:
            out[key] = ref.get(key)
    return out


def owner_of(case: Mapping) -> dict:
    """The 主担当 ``{agency, worker}``; both None until someone confirms the routing."""
    owner = as_mapping(case.get("owner"))
    return {"agency": as_str(owner.get("agency")), "worker": as_str(owner.get("worker"))}
