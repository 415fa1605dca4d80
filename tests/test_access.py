"""Permission matrix: every role × every kind of case × list / view / write / export,
run against the storage layer (not the pages)."""
from __future__ import annotations

import pytest

from engine.casework.access import MASK, Access, AccessError, ScopedRepository
from engine.casework.cases import new_record
from engine.pack import load_pack
from storage import open_repository
from storage.audit import AuditLog
from storage.users import User

PACK = load_pack()
BASE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2",
        "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "age": 82, "concerns": ["care_need"]}}
KINDS = {
    # routed to houkatsu_a only, with consent; taken by houkatsu_a
    "care": ({**BASE, "consent": "yes", "receiving_agency": "houkatsu_a"}, "u_houkatsu"),
    # 8050 without consent → 支援会議 (confidential); taken by the 自立相談 agency
    "confidential": ({**BASE, "consent": "no", "receiving_agency": "jiritsu_soudan",
                      "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]}, "u_jiritsu"),
    # debt only → jiritsu_soudan; taken by jiritsu_soudan
    "debt": ({**BASE, "consent": "yes", "receiving_agency": "jiritsu_soudan",
              "person": {"name": "架空 太郎", "age": 40, "concerns": ["debt"]}}, "u_jiritsu"),
}
USERS = {
    "u_admin": User("u_admin", "管理者", ("admin",)),
    "u_welfare": User("u_welfare", "市民福祉課", ("welfare_division",)),
    "u_houkatsu": User("u_houkatsu", "包括A職員", ("agency_staff",), "houkatsu_a"),
    "u_jiritsu": User("u_jiritsu", "自立相談職員", ("agency_staff",), "jiritsu_soudan"),
    "u_member": User("u_member", "支援会議構成員", ("shien_kaigi_member",), "kikan_soudan"),
    "u_trainee": User("u_trainee", "研修生", ("trainee",)),
}
#             care   confidential  debt
VIEW = {
    "u_admin":    (True, True, True),
    "u_welfare":  (True, True, True),
    "u_houkatsu": (True, False, False),    # the 8050 case is routed to houkatsu_a, but it is 支援会議 without consent
    "u_jiritsu":  (False, True, True),     # took the confidential case itself
    "u_member":   (False, True, False),    # a 支援会議 member sees the confidential case, not others' cases
    "u_trainee":  (False, False, False),
}
EXPORT = {"u_admin": True, "u_welfare": True}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("data")
    repo = open_repository(path)
    ids = {}
    for kind, (intake, creator) in KINDS.items():
        record, _ = new_record(PACK, intake, actor=creator)
        ids[kind] = repo.save_case(record)["id"]
    yield repo, ids, AuditLog(path)
    repo.close()


def scoped(store, user_id):
    repo, _, audit = store
    return ScopedRepository(repo, PACK, Access.of(PACK, USERS[user_id]), audit)


@pytest.mark.parametrize("user_id", list(USERS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_view_write_and_list(store, user_id, kind):
    repo, ids, audit = store
    view = VIEW[user_id][list(KINDS).index(kind)]
    s = scoped(store, user_id)
    listed = s.read_cases(lambda cases: [c["id"] for c in cases])
    assert (ids[kind] in listed) == view
    if view:
        case = s.get_case(ids[kind])
        assert case["id"] == ids[kind]
        stored = s.save_case(case, expected_revision=case["revision"])
        assert stored["revision"] == case["revision"] + 1
    else:
        with pytest.raises(AccessError):
            s.get_case(ids[kind])
        with pytest.raises(AccessError):
            s.save_case(repo.get_case(ids[kind]))
        with pytest.raises(AccessError):
            s.events(ids[kind])


@pytest.mark.parametrize("user_id", list(USERS))
def test_export_permission(store, user_id):
    s = scoped(store, user_id)
    if EXPORT.get(user_id):
        s.export("cases_csv")
    else:
        with pytest.raises(AccessError):
            s.export("cases_csv")


def test_personal_fields_are_masked_in_lists_for_non_owners(store):
    _, ids, _ = store
    # The confidential case is routed to kikan_soudan? No: a 支援会議 member from another agency sees it masked.
    member = scoped(store, "u_member").read_cases(lambda cases: {c["id"]: c for c in cases})
    assert member[ids["confidential"]]["intake"]["person"]["name"] == MASK
    assert member[ids["confidential"]]["intake"]["person"]["age"] == 82          # not personal: still shown
    own = scoped(store, "u_jiritsu").read_cases(lambda cases: {c["id"]: c for c in cases})
    assert own[ids["confidential"]]["intake"]["person"]["name"] == "架空 花子"


def test_others_see_only_a_count_of_what_they_cannot_see(store):
    s = scoped(store, "u_houkatsu")
    assert s.count_cases() == 1 and s.hidden_count() == 2


def test_trainee_cannot_write_live_cases(store):
    record, _ = new_record(PACK, KINDS["care"][0])
    with pytest.raises(AccessError, match="研修"):
        scoped(store, "u_trainee").save_case(record)


def test_views_and_denials_are_audited_with_ids_only(store):
    repo, ids, audit = store
    with pytest.raises(AccessError):
        scoped(store, "u_houkatsu").get_case(ids["debt"])
    entries = list(audit.entries())
    assert {"actor": "u_houkatsu", "action": "case_view_denied", "case_id": ids["debt"]}.items() <= entries[-1].items()
    assert "架空" not in audit.path.read_text(encoding="utf-8")
    assert audit.verify().ok


# -- every method of the repository interface goes through the scope check ------------------
INTERFACE = sorted(name for name, member in vars(__import__("storage.base", fromlist=["Repository"]).Repository).items()
                   if callable(member) and not name.startswith("_"))


def test_every_interface_method_is_scoped_by_the_scoped_repository_itself():
    # Defined on the class (no pass-through to the raw store), and given a policy line.
    missing = [name for name in INTERFACE if name not in vars(ScopedRepository)]
    assert missing == [], f"ScopedRepository does not scope: {missing}"
    assert sorted(ScopedRepository.POLICY) == INTERFACE
    assert not hasattr(ScopedRepository, "__getattr__")


def fresh(tmp_path, user_id):
    repo = open_repository(tmp_path / "d")
    ids = {}
    for kind, (intake, creator) in KINDS.items():
        ids[kind] = repo.save_case(new_record(PACK, intake, actor=creator)[0])["id"]
    audit = AuditLog(tmp_path / "d")
    return repo, ids, audit, ScopedRepository(repo, PACK, Access.of(PACK, USERS[user_id]), audit)


def calls(ids, hidden):
    """One call of every interface method, aimed at a case the user may not see."""
    case = {"id": hidden, "name": "x"}
    return {
        "get_case": lambda s: s.get_case(hidden),
        "events": lambda s: s.events(hidden),
        "save_case": lambda s: s.save_case(case),
        "save_cases_bulk": lambda s: s.save_cases_bulk([case]),
        # A new case of the user's own, with an event slipped in for the hidden one.
        "save_cases_bulk_events": lambda s: s.save_cases_bulk([{"id": "C20261130-0000aa", "name": "架空"}],
                                                              [(hidden, {"type": "note"})]),
        "save_case_with_events": lambda s: s.save_case_with_events(case, [{"type": "status_changed"}]),
        "delete_case": lambda s: s.delete_case(hidden),
        "add_event": lambda s: s.add_event(hidden, {"type": "note", "text": "x"}),
        "add_events_bulk": lambda s: s.add_events_bulk([(hidden, {"type": "note"})]),
        "save_version": lambda s: s.save_version({"id": "v-forged", "sources": {}}),
        "set_meta": lambda s: s.set_meta("config", {"live": "v-forged", "history": []}),
    }


@pytest.mark.parametrize("method", ["get_case", "events", "save_case", "save_cases_bulk", "save_cases_bulk_events",
                                    "save_case_with_events", "delete_case", "add_event", "add_events_bulk", "save_version", "set_meta"])
def test_agency_staff_cannot_reach_another_agencys_case_through_any_method(tmp_path, method):
    repo, ids, audit, scoped_repo = fresh(tmp_path, "u_houkatsu")
    hidden = ids["debt"]
    before = (repo.get_case(hidden), repo.events(hidden), repo.list_versions(), repo.get_meta("config"))
    with pytest.raises(AccessError):
        calls(ids, hidden)[method](scoped_repo)
    assert (repo.get_case(hidden), repo.events(hidden), repo.list_versions(), repo.get_meta("config")) == before
    assert repo.count_cases() == 3
    repo.close()


def test_reads_are_filtered_and_close_leaves_the_shared_store_open(tmp_path):
    repo, ids, audit, s = fresh(tmp_path, "u_houkatsu")
    assert [c["id"] for c in s.list_cases()] == [ids["care"]] and s.count_cases() == 1
    s.close()
    assert repo.count_cases() == 3
    repo.close()


def test_every_write_is_audited(tmp_path):
    repo, ids, audit, s = fresh(tmp_path, "u_admin")
    before = len(list(audit.entries()))
    s.save_cases_bulk([{"name": "架空", "intake": {}}])
    s.save_cases_bulk([{"id": "C20261130-0000aa", "name": "架空"}, {"id": "C20261130-0000ab", "name": "架空"}],
                      [("C20261130-0000aa", {"type": "received"}), (ids["care"], {"type": "note"})])
    s.save_case_with_events(repo.get_case(ids["care"]), [{"type": "status_changed"}])
    s.add_event(ids["care"], {"type": "note", "text": "x"})
    s.add_events_bulk([(ids["care"], {"type": "note"})])
    s.set_meta("meetings.on_demand", [])
    s.delete_case(ids["debt"])
    actions = [e["action"] for e in list(audit.entries())[before:]]
    assert actions == ["case_write_bulk", "case_write_bulk", "event_add_bulk", "case_write", "event_add",
                       "event_add_bulk", "setting_write", "case_delete"]
    assert [e["count"] for e in list(audit.entries())[before:][1:3]] == [2, 2]
    assert [e["type"] for e in repo.events("C20261130-0000aa")] == ["received"]
    assert audit.verify().ok
    repo.close()


def test_only_administrators_delete(tmp_path):
    repo, ids, audit, s = fresh(tmp_path, "u_welfare")
    with pytest.raises(AccessError, match="管理者"):
        s.delete_case(ids["care"])
    assert repo.get_case(ids["care"]) is not None
    repo.close()


def test_a_missing_case_and_a_hidden_one_get_the_same_answer(tmp_path):
    """Writing to a case number that does not exist tells staff no more than writing to one they
    may not see: which case numbers exist is not for everyone to learn."""
    repo, ids, audit, s = fresh(tmp_path, "u_houkatsu")
    answers = []
    for case_id in (ids["debt"], "C20261130-ffffff"):
        with pytest.raises(AccessError) as refused:
            s.add_event(case_id, {"type": "note", "text": "x"})
        answers.append(str(refused.value))
    assert answers[0] == answers[1] and "見つからないか" in answers[0]
    repo.close()


def test_an_odd_record_is_listed_for_everyone_without_a_crash(tmp_path):
    """Parts of the wrong type (an intake that is text, a household that is not a list of people)
    are read as missing, as the SQL columns read them: the list shows the case or hides it, never fails."""
    with open_repository(tmp_path) as repo:
        repo.save_case({"id": "C-odd1", "intake": "手書きのメモ", "created_by": "u_houkatsu",
                        "decision": {"meetings": ["shien_kaigi"]}})
        repo.save_case({"id": "C-odd2", "intake": {"person": "架空 太郎", "household": "子", "consent": "no",
                                                   "receiving_agency": "houkatsu_a"}, "decision": {"meetings": ["shien_kaigi"]}})
        seen = {user_id: sorted(c["id"] for c in ScopedRepository(repo, PACK, Access.of(PACK, user)).list_cases())
                for user_id, user in USERS.items()}
    # Neither has everyone's consent on record: 支援会議 without consent, seen by its members and by
    # whoever took the case (u_houkatsu made the first and its agency received the second).
    assert seen["u_houkatsu"] == ["C-odd1", "C-odd2"]
    assert seen["u_member"] == ["C-odd1", "C-odd2"] and seen["u_admin"] == ["C-odd1", "C-odd2"]
    assert seen["u_jiritsu"] == [] and seen["u_trainee"] == []
    with open_repository(tmp_path) as repo:
        houkatsu = ScopedRepository(repo, PACK, Access.of(PACK, USERS["u_member"]))
        shown = {c["id"]: c["intake"] for c in houkatsu.list_cases()}
    assert shown["C-odd1"] == MASK                        # not the text itself
    assert shown["C-odd2"]["person"] == MASK


def _rule(pack, access, case) -> bool:
    """Who may see a case, spelled as the rule reads (casework/access.py's docstring), the slow way:
    a confidential case by who took it and by 支援会議 members; any other by who owns it."""
    from storage.case_fields import agencies_of, routed_meetings
    if access.scope == "none":
        return False
    user = access.user
    took = case.get("created_by") == user.id or (
        user.agency is not None and isinstance(case.get("intake"), dict)
        and case["intake"].get("receiving_agency") == user.agency)
    secret = {m.id for m in pack.meetings if m.get("confidential")}
    intake = case.get("intake") if isinstance(case.get("intake"), dict) else {}
    person = intake.get("person") if isinstance(intake.get("person"), dict) else {}
    rows = intake.get("household") if isinstance(intake.get("household"), list) else []
    consents = [person.get("consent", intake.get("consent"))] + [
        r.get("consent") for r in rows if isinstance(r, dict) and r.get("concerns")]
    if secret & routed_meetings(case) and not all(c == "yes" for c in consents):
        return access.confidential or took
    return access.scope == "all" or took or (user.agency is not None and user.agency in agencies_of(case))


def _cases():
    """Every mix of the parts visibility reads: who took it, where it is routed (recommended,
    confirmed), referrals, the 主担当, the consents, and odd parts."""
    import itertools
    routings = [None, {"agencies": ["houkatsu_a"], "meetings": []}, {"agencies": [{"id": "kikan_soudan"}], "meetings": ["shien_kaigi"]},
                {"agencies": "壊れた値", "meetings": [{"id": "shien_kaigi"}]}, "手書き"]
    referrals = [None, [{"agency": "houkatsu_a"}], [{"agency": "jiritsu_soudan"}, "壊れた行"], "壊れた値"]
    owners = [None, {"agency": "houkatsu_a"}, {"agency": ""}, "壊れた値"]
    intakes = [None, "手書きのメモ", {"consent": "yes", "receiving_agency": "jiritsu_soudan"},
               {"person": {"consent": "no"}, "receiving_agency": "houkatsu_a"},
               {"person": {"consent": "yes"}, "household": [{"concerns": ["debt"], "consent": "no"}, "子"]}]
    for n, (decision, confirmed, refs, owner, intake, creator) in enumerate(itertools.product(
            routings, routings[:3], referrals, owners, intakes, (None, "u_member", "u_none"))):
        case = {"id": f"C-{n}"}
        for key, value in (("decision", decision), ("confirmed", confirmed), ("referrals", refs),
                           ("owner", owner), ("intake", intake), ("created_by", creator)):
            if value is not None:
                case[key] = value
        yield case


def test_who_sees_a_case_is_the_rule_as_written_in_every_mix():
    """can_view reads a case in the cheapest order (an administrator reads nothing of it, staff the
    agencies before the consents): for every role and every mix of the parts it reads, it answers
    as the rule spelled out plainly does."""
    from engine.casework.access import can_view, owns
    from storage.case_fields import agencies_of, concerns_agency
    cases = list(_cases())
    users = [*USERS.values(), User("u_none", "機関なし", ("agency_staff",)),
             User("u_member2", "構成員（機関なし）", ("shien_kaigi_member",))]
    assert len(cases) > 2_000
    seen = set()
    for user in users:
        access = Access.of(PACK, user)
        for case in cases:
            expected = _rule(PACK, access, case)
            assert can_view(PACK, access, case) is expected, (user.id, case)
            seen.add((user.id, expected))
            if user.agency:
                assert concerns_agency(case, user.agency) == (user.agency in agencies_of(case)), case
                assert owns(access, case) == (access.scope == "all" or user.agency in agencies_of(case)
                                              or case.get("created_by") == user.id
                                              or (isinstance(case.get("intake"), dict)
                                                  and case["intake"].get("receiving_agency") == user.agency)), case
    # Each staff user both sees and does not see some of the mixes: the matrix reaches both answers.
    for user_id in ("u_houkatsu", "u_jiritsu", "u_member", "u_none", "u_member2"):
        assert {(user_id, True), (user_id, False)} <= seen, user_id


def test_a_personal_field_in_each_household_row_is_masked_and_the_stored_case_is_not_touched():
    """A city that marks a field of the 世帯員 rows personal (their names): a user who does not
    own the case sees each row's name as ＊＊＊ and the rest of the row; the stored case keeps the
    names (masking copies what it hides and nothing is written back)."""
    import copy

    from engine.casework.access import masked
    from engine.pack import load_sources
    text = PACK.sources["forms/intake.yaml"]
    anchor = "      - {id: relation, type: select, label: 続柄, choices: relations, required: true}\n"
    assert anchor in text
    pack = load_sources({**PACK.sources, "forms/intake.yaml": text.replace(
        anchor, anchor + "      - {id: member_name, type: text, label: 世帯員の氏名, personal: true}\n", 1)})
    case = {"id": "C-h", "created_by": "u_jiritsu", "decision": {"agencies": [{"id": "houkatsu_a"}], "meetings": []},
            "intake": {"receiving_agency": "jiritsu_soudan", "consent": "yes",
                       "person": {"name": "架空 花子", "kana": "カクウ ハナコ", "age": 80, "consent": "yes"},
                       "household": [{"relation": "son", "member_name": "架空 一郎", "concerns": ["debt"], "consent": "yes"},
                                     {"relation": "daughter", "age": 40}, "手書きのメモ"]}}
    stored = copy.deepcopy(case)
    outsider = Access.of(pack, USERS["u_member"])           # sees cases, owns none of this one's agencies
    shown = masked(pack, outsider, case)
    rows = shown["intake"]["household"]
    assert rows[0] == {"relation": "son", "member_name": MASK, "concerns": ["debt"], "consent": "yes"}
    assert rows[1] == {"relation": "daughter", "age": 40}     # no personal field in it: shown as it is
    assert rows[2] == MASK                                    # an odd row may hold anything: hidden whole
    assert shown["intake"]["person"]["name"] == MASK and shown["intake"]["person"]["age"] == 80
    assert case == stored                                     # the stored case is unchanged
    owner = Access.of(pack, USERS["u_jiritsu"])
    assert masked(pack, owner, case)["intake"]["household"][0]["member_name"] == "架空 一郎"
    # The Hannan pack marks nothing in the rows personal: they are shown as they are.
    assert masked(PACK, outsider, case)["intake"]["household"] == case["intake"]["household"]
