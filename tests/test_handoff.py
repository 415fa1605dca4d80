"""The routing is a recommendation: confirmation with reasons, referrals with acceptance,
owner and next date, working days, and the override counts."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from engine.casework import duties, overrides, wareki
from engine.casework.calendar import add_working_days, working_days_between
from engine.casework.cases import new_record
from engine.casework.handoff import confirm, confirm_case, differences, reassign, reassign_case, recommended
from engine.casework.referrals import HandoffError, accept_days, answer, inbox, is_overdue
from engine.casework.wareki import JST, today as japan_today
from engine.casework.workflow import change_status, redecide
from engine.pack import load_pack
from engine.errors import ConflictError
from storage import open_repository, records

PACK = load_pack()
DAY = dt.date(2026, 11, 20)          # a Friday; Monday 11/23 is 勤労感謝の日
# Elderly person with care needs and a withdrawn son, consent given: two agencies recommended.
INTAKE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area1", "consent": "yes",
          "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "age": 82, "concerns": ["care_need", "debt"]}}


def record() -> dict:
    rec, _ = new_record(PACK, INTAKE, actor="u1")
    return {**rec, "id": "C1"}


def without(case: dict, agency: str) -> dict:
    """The recommended routing with one agency taken out."""
    rec = recommended(case)
    return {**rec, "agencies": [a for a in rec["agencies"] if a != agency]}


# -- working days -------------------------------------------------------------------------

@pytest.mark.parametrize("start, n, due", [
    (dt.date(2026, 11, 20), 1, dt.date(2026, 11, 24)),   # weekend and 勤労感謝の日 skipped
    (dt.date(2026, 11, 20), 3, dt.date(2026, 11, 26)),
    (dt.date(2026, 12, 25), 1, dt.date(2026, 12, 28)),
    (dt.date(2026, 12, 25), 2, dt.date(2027, 1, 4)),     # 12/29–1/3 closed
    (dt.date(2026, 12, 28), 5, dt.date(2027, 1, 8)),
    (dt.date(2027, 1, 8), 1, dt.date(2027, 1, 12)),      # 1/11 成人の日
    (dt.date(2027, 4, 28), 3, dt.date(2027, 5, 7)),      # 昭和の日 and the May holidays
    (dt.date(2026, 12, 29), 1, dt.date(2027, 1, 4)),     # sent on a closed day: counts from the next open one
    (dt.date(2026, 11, 24), 0, dt.date(2026, 11, 24)),
])
def test_working_days_skip_weekends_holidays_and_year_end(start, n, due):
    assert add_working_days(start, n) == due
    if n:
        assert working_days_between(start, due) == n


def test_referral_due_follows_agency_kind():
    assert accept_days(PACK, "houkatsu_a") == 3          # by_kind houkatsu
    assert accept_days(PACK, "csw_area1") == 5           # the default
    rec, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, dt.date(2026, 12, 25))
    dues = {r["agency"]: r["due"] for r in rec["referrals"]}
    assert dues["houkatsu_a"] == "2027-01-05"           # 3 working days: 12/28, 1/4, 1/5
    assert dues["jiritsu_soudan"] == "2027-01-05"
    assert dues["kurashi_marugoto"] == "2027-01-07"      # its kind has no limit of its own: 5 days
    pending = rec["referrals"][0]
    assert not is_overdue(pending, dt.date.fromisoformat(pending["due"]))
    assert is_overdue(pending, dt.date.fromisoformat(pending["due"]) + dt.timedelta(days=1))


# -- confirmation ---------------------------------------------------------------------------

def test_recommended_case_has_two_agencies():
    assert set(recommended(record())["agencies"]) == {"houkatsu_a", "jiritsu_soudan", "kurashi_marugoto"}


def test_removing_an_agency_needs_a_reason_and_records_it():
    case = record()
    chosen = without(case, "jiritsu_soudan")
    with pytest.raises(HandoffError, match="理由が必要です.*自立相談"):
        confirm(PACK, case, chosen, {}, "u1", "houkatsu_a", DAY)
    out, events = confirm(PACK, case, chosen, {"agencies:jiritsu_soudan": {"text": "既に別の窓口で相談中", "code": "already_supported"}},
                          "u1", "houkatsu_a", DAY)
    assert [a["id"] for a in out["confirmed"]["agencies"]] == ["houkatsu_a", "kurashi_marugoto"]
    assert out["decision"] == case["decision"]                       # the recommendation is kept beside it
    (change,) = out["confirmed"]["changes"]
    assert change["change"] == "removed" and change["reason_code"] == "already_supported" and change["rules"]
    assert out["owner"] == {"agency": "houkatsu_a", "worker": "u1", "since": "2026-11-20"}
    # The sender's own agency needs no acceptance; nothing goes to the removed one.
    assert [(r["agency"], r["state"]) for r in out["referrals"]] == [("houkatsu_a", "accepted"), ("kurashi_marugoto", "pending")]
    assert [e["type"] for e in events] == ["routing_confirmed", "routing_changed", "referral_sent", "referral_sent", "owner_set"]
    assert differences(out) == [{"kind": "agencies", "id": "jiritsu_soudan", "change": "removed", "explained": True}]


def test_unknown_ids_and_reason_codes_are_refused():
    case = record()
    with pytest.raises(HandoffError, match="設定にありません"):
        confirm(PACK, case, {**recommended(case), "agencies": ["no_such"]}, {}, "u1", None, DAY)
    with pytest.raises(HandoffError, match="override_reasons"):
        confirm(PACK, case, without(case, "jiritsu_soudan"),
                {"agencies:jiritsu_soudan": {"text": "x", "code": "bogus"}}, "u1", None, DAY)


def test_reconfirming_keeps_earlier_reasons_and_withdraws_pending_referrals():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, DAY)
    assert {r["state"] for r in case["referrals"]} == {"pending"}
    chosen = {**recommended(case), "agencies": ["houkatsu_a", "kurashi_marugoto", "kikan_soudan"]}
    case, events = confirm(PACK, case, chosen, {"agencies:jiritsu_soudan": {"text": "本人が希望しない"},
                                                "agencies:kikan_soudan": {"text": "障がいの相談がある"}}, "u2", None, DAY)
    assert "referral_withdrawn" in [e["type"] for e in events]
    assert sorted(r["agency"] for r in case["referrals"]) == ["houkatsu_a", "kikan_soudan", "kurashi_marugoto"]
    again, _ = confirm(PACK, case, chosen, {}, "u3", None, DAY)       # same choice: no new reason needed
    assert again["confirmed"]["changes"] == case["confirmed"]["changes"]
    assert len(again["referrals"]) == 3                                # no second referral to the same agency


def test_redecision_updates_the_recommendation_and_never_the_confirmation(tmp_path):
    with open_repository(tmp_path) as repo:
        stored = repo.save_case(record())
        chosen = without(stored, "jiritsu_soudan")
        stored = confirm_case(repo, PACK, stored["id"], chosen, {"agencies:jiritsu_soudan": {"text": "他で支援中"}}, "u1", None, DAY)
        before = stored["confirmed"]
        # New facts: the debt is gone, a withdrawn son appears.
        intake = {**INTAKE, "person": {**INTAKE["person"], "concerns": ["care_need"]}}
        after = redecide(repo, PACK, stored["id"], "u1", intake=intake)
        assert after["confirmed"] == before
        assert "jiritsu_soudan" not in recommended(after)["agencies"]
        event = repo.events(stored["id"])[-1]
        assert event["type"] == "redecided" and event["differences"] == [d for d in differences(after) if not d["explained"]]
        assert {"kind": "agencies", "id": "jiritsu_soudan"} not in [{k: d[k] for k in ("kind", "id")} for d in event["differences"]]


# -- referrals -------------------------------------------------------------------------------

def test_accept_and_return():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, DAY)
    ref = next(r for r in case["referrals"] if r["agency"] == "jiritsu_soudan")
    assert [c["id"] for c, _ in inbox([case], "jiritsu_soudan")] == ["C1"]
    with pytest.raises(HandoffError, match="理由"):
        answer(PACK, case, ref["id"], False, "u2", DAY)
    returned, (event,) = answer(PACK, case, ref["id"], False, "u2", DAY, "対象外です", "outside_scope")
    assert event["type"] == "referral_returned" and event["reason"] == "対象外です"
    assert next(r for r in returned["referrals"] if r["id"] == ref["id"])["state"] == "returned"
    assert inbox([returned], "jiritsu_soudan") == []
    with pytest.raises(HandoffError, match="すでに「返送」"):
        answer(PACK, returned, ref["id"], True, "u2", DAY)
    accepted, _ = answer(PACK, case, ref["id"], True, "u2", DAY)
    assert next(r for r in accepted["referrals"] if r["id"] == ref["id"])["state"] == "accepted"
    # Confirming again re-sends to an agency that returned it.
    resent, _ = confirm(PACK, returned, recommended(returned), {}, "u1", None, DAY)
    assert [r["state"] for r in resent["referrals"] if r["agency"] == "jiritsu_soudan"] == ["returned", "pending"]


def test_reassign_needs_a_reason():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, DAY)
    with pytest.raises(HandoffError, match="理由"):
        reassign(PACK, case, "jiritsu_soudan", "u9", "", "u1", DAY)
    out, (event,) = reassign(PACK, case, "jiritsu_soudan", "u9", "借金の支援が中心になった", "u1", DAY)
    assert out["owner"]["agency"] == "jiritsu_soudan" and event["before"]["agency"] == "houkatsu_a"


# -- next date and 今日やること ----------------------------------------------------------------

def test_next_due_by_status_stay(tmp_path):
    case = record()
    assert duties.next_due(PACK, case) == dt.date(2026, 11, 26)      # 受付: 3 working days
    assert duties.next_due(PACK, {**case, "status": "monitoring", "status_since": "2026-11-30"}) == dt.date(2027, 2, 28)
    assert duties.next_due(PACK, {**case, "status": "assessment", "status_since": "2026-11-30"}) == dt.date(2026, 12, 14)
    assert duties.next_due(PACK, {**case, "status": "closed"}) is None
    with open_repository(tmp_path) as repo:
        stored = repo.save_case(case)
        moved = change_status(repo, PACK, stored["id"], "assessment", "u1")
        assert moved["status_since"] == japan_today().isoformat()


def test_every_stamped_day_is_japans_day(tmp_path, monkeypatch):
    """At 00:30 in Japan a UTC server's clock still says yesterday: a status change, a confirmation and a
    new case id all take Japan's day. The frozen moment is years away from the
    real one, so a path that reads the server's own date fails here at any hour."""
    moment = dt.datetime(2031, 1, 6, 0, 30, tzinfo=JST)          # Monday; 2031-01-05 15:30 UTC

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)

    monkeypatch.setattr(wareki, "dt", SimpleNamespace(**{**vars(dt), "datetime": Frozen}))
    monkeypatch.setattr(records, "datetime", Frozen)
    rec, _ = new_record(PACK, {**INTAKE, "received_on": "2031-01-06"}, actor="u1")
    with open_repository(tmp_path) as repo:
        stored = repo.save_case(rec)
        assert stored["id"].startswith("C20310106-")
        confirmed = confirm_case(repo, PACK, stored["id"], recommended(stored), {}, "u1", None)
        assert {r["sent_on"] for r in confirmed["referrals"]} == {"2031-01-06"}
        moved = change_status(repo, PACK, stored["id"], "assessment", "u1")
        assert moved["status_since"] == "2031-01-06"


def test_todo_lists_overdue_first_for_me_and_my_agency():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, DAY)
    today = dt.date(2026, 12, 1)
    mine = duties.todo(PACK, [case], "u1", None, today)
    assert [(t.kind, t.due) for t in mine] == [("status", "2026-11-26"), ("follow_up", "2026-11-26"),
                                               ("follow_up", "2026-11-26"), ("follow_up", "2026-11-30")]
    assert all(t.overdue for t in mine)
    theirs = duties.todo(PACK, [case], "u2", "jiritsu_soudan", today)
    assert [(t.kind, t.overdue) for t in theirs] == [("accept", True)]
    assert duties.todo(PACK, [case], "u3", "kikan_soudan", today) == []
    view = duties.case_view(PACK, case, today)
    assert view["overdue"] and view["next_due"] == "2026-11-26"
    assert {r["state"] for r in view["referrals"]} == {"pending"}


def test_a_returned_referral_waits_for_the_sender_until_they_act():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", "houkatsu_a", DAY)
    to_jiritsu = next(r for r in case["referrals"] if r["agency"] == "jiritsu_soudan")
    returned, _ = answer(PACK, case, to_jiritsu["id"], False, "u2", DAY, "当機関の対象外")
    today = dt.date(2026, 11, 24)
    sender = [t for t in duties.todo(PACK, [returned], "u1", "houkatsu_a", today) if t.kind == "returned"]
    assert [(t.case_id, t.due, t.overdue) for t in sender] == [("C1", DAY.isoformat(), False)]
    assert "返送" in sender[0].what and "生活困窮者自立相談支援機関" in sender[0].what
    assert not [t for t in duties.todo(PACK, [returned], "u3", "kikan_soudan", today) if t.kind == "returned"]
    # Re-confirmed with the agency kept: a new referral goes out and the return is dealt with.
    again, _ = confirm(PACK, returned, recommended(record()), {}, "u1", "houkatsu_a", today)
    assert [r["state"] for r in again["referrals"] if r["agency"] == "jiritsu_soudan"] == ["returned", "pending"]
    assert not [t for t in duties.todo(PACK, [again], "u1", "houkatsu_a", today) if t.kind == "returned"]
    # Or re-confirmed without it (a reason given): nothing left to do about the return either.
    rid, _ = confirm(PACK, returned, without(returned, "jiritsu_soudan"),
                     {"agencies:jiritsu_soudan": {"text": "返送の理由を読み、別の窓口へ"}}, "u1", "houkatsu_a", today)
    assert not [t for t in duties.todo(PACK, [rid], "u1", "houkatsu_a", today) if t.kind == "returned"]


def test_due_within_a_week_and_owned_by_me_or_my_agency():
    case, _ = confirm(PACK, record(), recommended(record()), {}, "u1", None, DAY,
                      owner={"agency": "houkatsu_a", "worker": "u1"})
    # In 支援実施 (3 months) since DAY; referrals due 11/26 (包括・自立相談: 3 working days) and 11/30.
    case = {**case, "status": "support", "status_since": DAY.isoformat()}
    assert not duties.due_by(PACK, case, dt.date(2026, 11, 25))
    assert duties.due_by(PACK, case, dt.date(2026, 11, 26))             # a referral waiting
    answered = case
    for ref in case["referrals"]:
        answered, _ = answer(PACK, answered, ref["id"], True, "u2", DAY)
    assert not duties.due_by(PACK, answered, dt.date(2027, 2, 19))      # accepted: the status limit is left
    assert duties.due_by(PACK, answered, dt.date(2027, 2, 20))
    assert not duties.due_by(PACK, {**answered, "status": "closed"}, dt.date(2028, 1, 1))
    assert duties.owned_by(case, "u1", None) and duties.owned_by(case, "u9", "houkatsu_a")
    assert not duties.owned_by(case, "u9", "jiritsu_soudan") and not duties.owned_by(record(), "u1", None)


# -- override counts ---------------------------------------------------------------------------

def test_override_counts_per_rule_within_90_days():
    today = dt.date(2026, 11, 30)
    base = record()
    removed, _ = confirm(PACK, base, without(base, "jiritsu_soudan"),
                         {"agencies:jiritsu_soudan": {"text": "他で支援中"}}, "u1", None, today - dt.timedelta(days=10))
    added, _ = confirm(PACK, {**base, "id": "C2"}, {**recommended(base), "agencies": [*recommended(base)["agencies"], "kikan_soudan"]},
                       {"agencies:kikan_soudan": {"text": "障がいの相談"}}, "u1", None, today - dt.timedelta(days=5))
    old, _ = confirm(PACK, {**base, "id": "C3"}, without(base, "jiritsu_soudan"),
                     {"agencies:jiritsu_soudan": {"text": "昔の話"}}, "u1", None, today - dt.timedelta(days=91))
    plain, _ = confirm(PACK, {**base, "id": "C4"}, recommended(base), {}, "u1", None, today)
    result = overrides.count([removed, added, old, plain, record()], today)
    rules = removed["confirmed"]["changes"][0]["rules"]
    assert rules and set(result.by_rule) == set(rules)
    assert all(result.by_rule[r].removed == 1 and result.by_rule[r].cases == ("C1",) for r in rules)
    assert result.added == {("agencies", "kikan_soudan"): 1}
    assert result.confirmed == 3                                   # C3 was confirmed before the window
    rows = {r["ルール"]: r for r in overrides.rule_rows(PACK, result)}
    assert sum(r["外された回数"] for r in rows.values()) == len(rules)
    assert overrides.added_rows(PACK, result)[0]["ケース"] == "C2"


def test_the_same_hand_over_from_two_stale_pages_is_told_as_a_conflict(tmp_path):
    """Two staff confirm, or both make the same agency 主担当, from pages drawn at one version: the
    second is told someone saved first, not that the routing is confirmed or the 主担当 unchanged."""
    with open_repository(tmp_path) as repo:
        stored = repo.save_case(record())
        seen = stored["revision"]
        confirmed = confirm_case(repo, PACK, stored["id"], recommended(stored), {}, "u1", None, DAY, expected_revision=seen)
        with pytest.raises(ConflictError, match="他の職員が先に保存しました"):
            confirm_case(repo, PACK, stored["id"], recommended(stored), {}, "u2", None, DAY, expected_revision=seen)
        agency = confirmed["referrals"][0]["agency"]
        reassign_case(repo, PACK, stored["id"], agency, "w1", "引継ぎ", "u1", DAY, expected_revision=confirmed["revision"])
        with pytest.raises(ConflictError, match="他の職員が先に保存しました"):
            reassign_case(repo, PACK, stored["id"], agency, "w1", "引継ぎ", "u2", DAY, expected_revision=confirmed["revision"])
