"""Permission matrix of the hand-over: who may confirm, override, accept or return a referral
and reassign the 主担当 (roles.yaml), enforced in the storage layer (ScopedRepository)."""
from __future__ import annotations

import datetime as dt

import pytest

from engine.casework.access import Access, AccessError, ScopedRepository
from engine.casework.cases import new_record
from engine.casework.handoff import answer_case, confirm_case, reassign_case, recommended
from engine.pack import load_pack
from storage import open_audit, open_repository
from tests.test_access import USERS as ACCESS_USERS

PACK = load_pack()
DAY = dt.date(2026, 11, 20)
# care_need + debt in area1: recommended to houkatsu_a, jiritsu_soudan and kurashi_marugoto; taken by houkatsu_a.
INTAKE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area1", "consent": "yes",
          "receiving_agency": "houkatsu_a",
          "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "age": 82, "concerns": ["care_need", "debt"]}}
# The same six accounts as the view/write matrix (admin, 市民福祉課, 包括A, 自立相談, 支援会議の構成員 of the
# 基幹相談支援センター, trainee).
USERS = ACCESS_USERS
# The referral answered in the matrix goes to jiritsu_soudan; the one to kikan_soudan tests the
# 支援会議 member, who may accept for their own agency but not confirm.
CONFIRM = {"u_admin": True, "u_welfare": True, "u_houkatsu": True, "u_jiritsu": True, "u_member": False, "u_trainee": False}
OVERRIDE = CONFIRM
ACCEPT = {"u_admin": False, "u_welfare": False, "u_houkatsu": False, "u_jiritsu": True, "u_member": False, "u_trainee": False}
ACCEPT_OWN_AGENCY = {"u_member": True}
REASSIGN = {"u_admin": True, "u_welfare": True, "u_houkatsu": False, "u_jiritsu": False, "u_member": False, "u_trainee": False}


@pytest.fixture(params=["tinydb", "postgres"])
def store(request, tmp_path):
    """The case on the embedded store, and on PostgreSQL (the audit log in the same database)."""
    where = request.getfixturevalue("pg_url") if request.param == "postgres" else tmp_path
    repo, audit = open_repository(where), open_audit(where)
    record, _ = new_record(PACK, INTAKE, actor="u_houkatsu")
    stored = repo.save_case(record)
    yield repo, stored["id"], audit
    repo.close()


def as_user(store, user_id):
    repo, _, audit = store
    return ScopedRepository(repo, PACK, Access.of(PACK, USERS[user_id]), audit)


def without_jiritsu(case):
    rec = recommended(case)
    return {**rec, "agencies": [a for a in rec["agencies"] if a != "jiritsu_soudan"]}


def confirmed_by_welfare(store, add=(), remove=(), reasons=None):
    repo, case_id, _ = store
    case = repo.get_case(case_id)
    agencies = [a for a in recommended(case)["agencies"] if a not in remove] + list(add)
    return confirm_case(as_user(store, "u_welfare"), PACK, case_id, {**recommended(case), "agencies": agencies},
                        reasons or {}, "u_welfare", None, DAY, owner={"agency": "houkatsu_a", "worker": "u_houkatsu"})


def outcome(action) -> bool:
    try:
        action()
    except AccessError:
        return False
    return True


@pytest.mark.parametrize("user_id", USERS)
def test_confirm_as_recommended(store, user_id):
    _, case_id, _ = store
    case = store[0].get_case(case_id)
    allowed = outcome(lambda: confirm_case(as_user(store, user_id), PACK, case_id, recommended(case), {}, user_id,
                                           USERS[user_id].agency, DAY))
    assert allowed == CONFIRM[user_id]
    assert ("confirmed" in store[0].get_case(case_id)) == allowed


@pytest.mark.parametrize("user_id", USERS)
def test_override_the_recommendation(store, user_id):
    _, case_id, audit = store
    case = store[0].get_case(case_id)
    chosen = without_jiritsu(case)
    allowed = outcome(lambda: confirm_case(as_user(store, user_id), PACK, case_id, chosen,
                                           {"agencies:jiritsu_soudan": {"text": "他の窓口で支援中"}}, user_id, None, DAY))
    assert allowed == OVERRIDE[user_id]
    if allowed:
        entries = [e for e in audit.entries() if e.get("action") == "routing_confirm"]
        assert entries and entries[-1]["case_id"] == case_id and entries[-1]["actor"] == user_id and entries[-1]["count"] == 1


@pytest.mark.parametrize("user_id", USERS)
@pytest.mark.parametrize("accept", [True, False])
def test_answer_a_referral(store, user_id, accept):
    stored = confirmed_by_welfare(store)
    ref = next(r for r in stored["referrals"] if r["agency"] == "jiritsu_soudan")
    allowed = outcome(lambda: answer_case(as_user(store, user_id), PACK, stored["id"], ref["id"], accept, user_id,
                                          reason="当機関の対象外", today=DAY))
    assert allowed == ACCEPT[user_id]
    state = next(r for r in store[0].get_case(stored["id"])["referrals"] if r["id"] == ref["id"])["state"]
    assert state == (("accepted" if accept else "returned") if allowed else "pending")


def test_a_meeting_member_answers_for_their_own_agency(store):
    stored = confirmed_by_welfare(store, add=("kikan_soudan",), reasons={"agencies:kikan_soudan": {"text": "障がいの相談もある"}})
    ref = next(r for r in stored["referrals"] if r["agency"] == "kikan_soudan")
    member = as_user(store, "u_member")
    assert member.get_case(stored["id"])["id"] == stored["id"]      # the referral lets them see it
    answer_case(member, PACK, stored["id"], ref["id"], True, "u_member", today=DAY)
    assert ACCEPT_OWN_AGENCY["u_member"]
    with pytest.raises(AccessError, match="確定する権限"):
        confirm_case(member, PACK, stored["id"], recommended(stored), {}, "u_member", "kikan_soudan", DAY)


@pytest.mark.parametrize("user_id", USERS)
def test_reassign_the_owner(store, user_id):
    stored = confirmed_by_welfare(store)
    allowed = outcome(lambda: reassign_case(as_user(store, user_id), PACK, stored["id"], "jiritsu_soudan", "担当B",
                                            "借金の支援が中心になった", user_id, DAY))
    assert allowed == REASSIGN[user_id]
    assert (store[0].get_case(stored["id"])["owner"]["agency"] == "jiritsu_soudan") == allowed


def test_removed_agency_no_longer_sees_the_case(store):
    stored = confirmed_by_welfare(store, remove=("jiritsu_soudan",), reasons={"agencies:jiritsu_soudan": {"text": "他の窓口で支援中"}})
    with pytest.raises(AccessError):
        as_user(store, "u_jiritsu").get_case(stored["id"])
    assert as_user(store, "u_houkatsu").get_case(stored["id"])["owner"]["agency"] == "houkatsu_a"


def test_a_hand_edited_referral_state_is_checked_too(store):
    """Writing the record directly (not through answer_case) meets the same check."""
    stored = confirmed_by_welfare(store)
    forged = {**stored, "referrals": [{**r, "state": "accepted"} for r in stored["referrals"]]}
    with pytest.raises(AccessError, match="他の機関あて"):
        as_user(store, "u_houkatsu").save_case(forged)


def test_a_bulk_write_meets_the_same_check(store):
    """save_cases_bulk is no way around the permissions: a confirmed routing in a bulk write
    needs confirm_routing like a single save, and is audited as a counted bulk entry."""
    repo, case_id, audit = store
    record, _ = new_record(PACK, INTAKE, actor="u_member")
    forged = {**record, "confirmed": {**recommended(record), "changes": [], "by": "u_member", "on": DAY.isoformat()}}
    with pytest.raises(AccessError, match="確定する権限"):
        as_user(store, "u_member").save_cases_bulk([forged])
    assert repo.count_cases() == 1
    case = repo.get_case(case_id)
    as_user(store, "u_welfare").save_cases_bulk([{**case, "confirmed": forged["confirmed"]}])
    assert "confirmed" in repo.get_case(case_id)
    bulk = [e for e in audit.entries() if e.get("action") == "routing_confirm_bulk"]
    assert bulk and bulk[-1]["count"] == 1 and bulk[-1]["actor"] == "u_welfare"


def test_events_follow_a_write_that_hid_the_case_once(store):
    """Staff of the 自立相談 removing their own agency still get the events of that write on the
    timeline; after that the case is out of their reach like any other."""
    repo, case_id, _ = store
    jiritsu = as_user(store, "u_jiritsu")
    case = repo.get_case(case_id)
    confirm_case(jiritsu, PACK, case_id, without_jiritsu(case), {"agencies:jiritsu_soudan": {"text": "他の窓口で支援中"}},
                 "u_jiritsu", "jiritsu_soudan", DAY, owner={"agency": "houkatsu_a", "worker": "担当A"})
    assert [e["type"] for e in repo.events(case_id)][-1] in ("referral_sent", "owner_set")
    assert any(e["type"] == "routing_changed" for e in repo.events(case_id))
    with pytest.raises(AccessError):
        jiritsu.add_event(case_id, {"type": "note", "by": "u_jiritsu", "text": "後から"})
    with pytest.raises(AccessError):
        jiritsu.add_events_bulk([(case_id, {"type": "note", "by": "u_jiritsu", "text": "後から"})])


def test_on_postgresql_a_hand_over_and_its_audit_entries_are_one_transaction(pg_url, monkeypatch):
    """The confirmation, its referral events, its case_write and routing_confirm entries commit
    together: an audit entry that cannot be written leaves the case as it was."""
    from storage.pg_audit import PgAuditLog
    repo, audit = open_repository(pg_url), open_audit(pg_url)
    case_id = repo.save_case(new_record(PACK, INTAKE, actor="u_houkatsu")[0])["id"]
    store = (repo, case_id, audit)
    before = (repo.get_case(case_id), repo.events(case_id))
    real = PgAuditLog.append

    def refuse_confirm(self, actor, action, **fields):
        if action == "routing_confirm":
            raise RuntimeError("監査ログに書けない")
        return real(self, actor, action, **fields)
    monkeypatch.setattr(PgAuditLog, "append", refuse_confirm)
    with pytest.raises(RuntimeError):
        confirmed_by_welfare(store, remove=("jiritsu_soudan",), reasons={"agencies:jiritsu_soudan": {"text": "他の窓口で支援中"}})
    assert (repo.get_case(case_id), repo.events(case_id)) == before
    assert [e["action"] for e in audit.entries()] == ["case_view"]        # the read before the change, only
    monkeypatch.undo()
    stored = confirmed_by_welfare(store, remove=("jiritsu_soudan",), reasons={"agencies:jiritsu_soudan": {"text": "他の窓口で支援中"}})
    assert stored["revision"] == 2 and any(e["type"] == "referral_sent" for e in repo.events(case_id))
    assert {"case_write", "routing_confirm"} <= {e["action"] for e in audit.entries() if e.get("case_id") == case_id}
    assert audit.verify().ok
    repo.close()
