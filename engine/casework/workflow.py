"""What happens to a case after intake: status changes, plans, notes, re-decisions,
meeting outcomes and connections to community resources.

Every change is saved with the revision the staff member opened, so a second person
saving the same case gets a conflict message instead of silently overwriting the first;
every change also appends an event, which is the case's timeline.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from engine.casework.caselist import as_mapping, ids_of, routing_of
from engine.casework.cases import checked_intake
from engine.casework.handoff import differences
from engine.casework.wareki import today as jst_today, wareki
from engine.errors import CaseError, CaseIssue, TsunaguError
from engine.pack.model import Pack
from engine.rules.decide import decide_prepared
from engine.rules.facts import coerce_form, prepare
from storage.records import check_revision


def today_iso() -> str:
    """Today as an ISO day: when a case enters a status (its clock in lifecycle.yaml ``stay``)."""
    return jst_today().isoformat()


class WorkflowError(TsunaguError):
    """A change the configuration does not allow (e.g. a status transition)."""


def _load(repo: Any, case_id: str, expected_revision: int | None = None) -> dict:
    """The stored case; with ``expected_revision`` (the one the staff member's page shows), a case
    someone else changed since is refused first, as the save would refuse it: checking the change
    against a status nobody on this page has seen told them 「アセスメント」から「アセスメント」には移れません."""
    case = repo.get_case(case_id)
    if case is None:
        raise WorkflowError(f"ケース {case_id} は見つかりません。削除されたか、IDが違います。ケース一覧から開き直してください。")
    check_revision(case_id, expected_revision, case)
    return case


def _save(repo: Any, case: dict, expected_revision: int | None, event: dict) -> dict:
    # One change: the case and its event land together or not at all (storage journals it).
    return repo.save_case_with_events(case, [event], expected_revision=expected_revision)


def allowed_next(pack: Pack, status: str) -> tuple[str, ...]:
    """Statuses the lifecycle allows from ``status`` (none from an unknown one)."""
    for s in pack.statuses:
        if s.id == status:
            return tuple(s.get("next") or ())
    return ()


def is_final(pack: Pack, status: str) -> bool:
    return any(s.id == status and s.get("final") for s in pack.statuses)


def change_status(repo: Any, pack: Pack, case_id: str, to: str, actor: str,
                  expected_revision: int | None = None, note: str = "") -> dict:
    case = _load(repo, case_id, expected_revision)
    current = case.get("status", pack.initial_status)
    if to not in allowed_next(pack, current):
        names = "、".join(pack.label("statuses", s) for s in allowed_next(pack, current)) or "なし"
        raise WorkflowError(f"「{pack.label('statuses', current)}」から「{pack.label('statuses', to)}」には移れません。"
                            f"移れる先: {names}（lifecycle.yaml で決まっています）")
    case["status"], case["status_since"] = to, today_iso()
    return _save(repo, case, expected_revision, {"type": "status_changed", "by": actor, "from": current, "to": to, "note": note})


def add_note(repo: Any, case_id: str, text: str, actor: str) -> dict:
    if not text.strip():
        raise WorkflowError("メモが空です。内容を書いてから保存してください。")
    _load(repo, case_id)
    return repo.add_event(case_id, {"type": "note", "by": actor, "text": text.strip()})


def save_plan(repo: Any, pack: Pack, case_id: str, raw: Mapping, actor: str, expected_revision: int | None = None) -> dict:
    """Store the 支援プラン (validated against forms/plan.yaml)."""
    plan = coerce_form(pack, pack.forms["plan"].fields, raw)
    case = _load(repo, case_id, expected_revision)
    first = "plan" not in case
    case["plan"] = plan
    return _save(repo, case, expected_revision, {"type": "plan_saved" if first else "plan_updated", "by": actor, "plan": plan})


def correct_intake(repo: Any, pack: Pack, case_id: str, raw: Mapping, reason: str, actor: str,
                   expected_revision: int | None = None) -> dict:
    """Correct what was recorded at intake (validated like a new intake), with a reason.

    The decision is left as it was: staff see the correction in the timeline and choose
    whether to 再判定. Values of fields the current form no longer has are kept.
    """
    clean = checked_intake(pack, raw)
    if not reason.strip():
        raise WorkflowError("訂正の理由を書いてください（例: 年齢の聞き違い）。")
    case = _load(repo, case_id, expected_revision)
    old = case.get("intake", {})
    known = {f.id for f in pack.intake.fields}
    changed = [f.label for f in pack.intake.fields if old.get(f.id) != clean.get(f.id)]
    if not changed:
        raise WorkflowError("受付内容に変更がありません。直す項目を変えてから保存してください。")
    case["intake"] = {**{k: v for k, v in old.items() if k not in known}, **clean}
    return _save(repo, case, expected_revision, {"type": "intake_corrected", "by": actor, "reason": reason.strip(),
                                                 "changed": changed})


def redecide(repo: Any, pack: Pack, case_id: str, actor: str, expected_revision: int | None = None,
             intake: Mapping | None = None) -> dict:
    """Route the case again (after new facts, or under a newer configuration).

    The previous decision stays in the timeline; the case carries the new one as its
    recommendation. A confirmed routing is a person's decision and stays as it was: the
    event lists where the new recommendation now differs from it (``differences``).
    """
    case = _load(repo, case_id, expected_revision)
    old = case.get("intake", {})
    prepared = prepare(pack, intake if intake is not None else old)
    decision = decide_prepared(pack, prepared).to_json(pack)
    before = case.get("decision")
    # Values of fields the current form no longer has are kept: a form change never
    # loses what was recorded. Meetings already held stay done, so a re-decision that
    # still names them does not put the case back on their agenda.
    known = {f.id for f in pack.intake.fields}
    kept = {k: v for k, v in old.items() if k not in known}
    case.update(intake={**kept, **prepared.case}, decision=decision, config_version=pack.version)
    return _save(repo, case, expected_revision, {"type": "redecided", "by": actor, "before": before, "after": decision,
                                                 "config_version": pack.version,
                                                 "differences": [d for d in differences(case) if not d["explained"]]})


def record_outcome(repo: Any, pack: Pack, case_id: str, raw: Mapping, actor: str,
                   expected_revision: int | None = None) -> dict:
    """Write a 会議記録 back to the case; its outcome may move the status (lifecycle on_outcome).

    The meeting decides, so the move applies from any open status.
    """
    record = coerce_form(pack, pack.forms["meeting_record"].fields, raw)
    case = _load(repo, case_id, expected_revision)
    received = str(case.get("intake", {}).get("received_on") or "")[:10]
    if received and str(record.get("held_on") or "") < received:
        # A meeting cannot have discussed a case before the case existed.
        raise CaseError([CaseIssue("held_on", f"「開催日」は受付日（{wareki(received)}）より前にはできません"
                                              f"（入力: {wareki(record['held_on'])}）", "会議を開いた日を選んでください")])
    done = list(case.get("meetings_done", []))
    done.append({"meeting": record["meeting"], "held_on": record["held_on"], "outcome": record["outcome"]})
    case["meetings_done"] = done
    before = case.get("status")
    after = pack.on_outcome.get(record["outcome"])
    if after and not is_final(pack, before or "") and after != before:
        case["status"], case["status_since"] = after, today_iso()
    return _save(repo, case, expected_revision, {"type": "meeting_outcome", "by": actor, "record": record,
                                                 "from": before, "to": case.get("status")})


def record_date(case: Mapping, held: dt.date | None, today: dt.date) -> dt.date:
    """The 会議記録's default 開催日: the session being recorded (the latest one on or before
    today, at most a week ago and not before the case was received), otherwise today.

    >>> case = {"intake": {"received_on": "2026-11-30"}}
    >>> record_date(case, dt.date(2026, 11, 19), dt.date(2026, 11, 30))
    datetime.date(2026, 11, 30)
    >>> record_date({"intake": {"received_on": "2026-11-10"}}, dt.date(2026, 11, 26), dt.date(2026, 11, 30))
    datetime.date(2026, 11, 26)
    >>> record_date({"intake": {"received_on": "2026-10-01"}}, dt.date(2026, 11, 5), dt.date(2026, 11, 30))
    datetime.date(2026, 11, 30)
    """
    received = str(case.get("intake", {}).get("received_on") or "")[:10]
    if held is None or (today - held).days > 7 or (received and held.isoformat() < received):
        return today
    return held


def connect_resource(repo: Any, pack: Pack, case_id: str, resource_id: str, actor: str, note: str = "",
                     expected_revision: int | None = None) -> dict:
    """Record a つなぎ to a community resource; it shows in the timeline."""
    if resource_id not in pack.ids("resources"):
        raise WorkflowError(f"地域資源「{resource_id}」は resources.yaml にありません。")
    case = _load(repo, case_id, expected_revision)
    connections = list(case.get("connections", []))
    connections.append({"resource": resource_id, "note": note})
    case["connections"] = connections
    return _save(repo, case, expected_revision, {"type": "resource_connected", "by": actor, "resource": resource_id, "note": note})


def waiting_for(pack: Pack, case: Mapping, meeting_id: str) -> bool:
    """Is the case routed to ``meeting_id`` and not yet discussed there since it was routed?"""
    if is_final(pack, case.get("status", "")):
        return False
    # The confirmed routing once staff confirmed it: a meeting they removed has no agenda item.
    if meeting_id not in ids_of(routing_of(case).get("meetings")):
        return False
    return not any(d.get("meeting") == meeting_id for d in case.get("meetings_done", []))


def agenda(pack: Pack, cases: list[Mapping], meeting_id: str) -> list[Mapping]:
    """Cases waiting for ``meeting_id``: highest priority first, then oldest first.

    Every routed case is listed, with or without a drafted plan: the page marks which
    ones have a plan, so the secretariat sees what still needs drafting.
    """
    ranks = _ranks(pack)
    waiting = [c for c in cases if waiting_for(pack, c, meeting_id)]
    return sorted(waiting, key=lambda c: _agenda_key(ranks, c))


def _ranks(pack: Pack) -> dict[str, int]:
    return {p.id: p.get("rank", 0) for p in pack.choices("priorities")}


def _agenda_key(ranks: Mapping[str, int], case: Mapping) -> tuple:
    return (-ranks.get(as_mapping(case.get("decision")).get("priority"), 0),
            str(as_mapping(case.get("intake")).get("received_on") or ""), str(case.get("id")))


def agenda_rows(pack: Pack, cases: list[Mapping], meeting_id: str) -> list[dict]:
    """``agenda`` as the 会議 page lists it: of each case only what its table and its picker show
    (id, 受付日, priority, status, whether a plan is drafted, the programs' names) and the sort key.
    Copying whole cases made the page take 3.5 s at 14,000 cases on an agenda (demo data)."""
    ranks = _ranks(pack)
    return sorted((_agenda_row(ranks, c) for c in cases if waiting_for(pack, c, meeting_id)), key=_row_key)


def _agenda_row(ranks: Mapping[str, int], case: Mapping) -> dict:
    decision = as_mapping(case.get("decision"))
    programs, priority, status = decision.get("programs"), decision.get("priority"), case.get("status")
    return {"id": str(case.get("id")), "key": _agenda_key(ranks, case),
            "received_on": str(as_mapping(case.get("intake")).get("received_on") or ""),
            "priority": priority if isinstance(priority, str) else "normal",
            "status": status if isinstance(status, str) else "",
            "plan": "plan" in case,
            "programs": "、".join(str(p.get("name", "")) for p in programs if isinstance(p, Mapping))
            if isinstance(programs, list) else ""}


def _row_key(row: dict) -> tuple:
    return row["key"]


def merged_agenda(parts: list[list[dict]]) -> list[dict]:
    """One agenda of ``agenda_rows`` made over disjoint sets of cases."""
    return sorted((row for part in parts for row in part), key=_row_key)
