"""The routing engine on the Hannan pack: the policy's examples, types, and the
durable_rules traps the backend promises to handle."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from engine.errors import CaseError
from engine.pack import DEFAULT_PACK, load_pack
from engine.rules.decide import decide
from engine.rules.durable_backend import compile_rules


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def case(**kw):
    base = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
            "person": {"age": 82, "concerns": ["care_need"]}, "household": [], "summary": "架空の相談"}
    base.update(kw)
    return base


def test_single_elderly_care_need_goes_to_the_houkatsu_of_its_area_only(pack):
    d = decide(pack, case())
    assert d.programs == ("comprehensive",)
    assert d.agencies == ("houkatsu_a",)
    assert d.meetings == ()
    assert d.priority == "normal"


def test_8050_household_with_consent(pack):
    d = decide(pack, case(household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"], "consent": "yes"}]))
    assert "multi_agency" in d.programs and "participation" not in d.programs
    assert d.proposed == ("participation",)          # 重層的支援会議で利用の適否を協議
    assert d.meetings == ("juso_kaigi",)
    assert "kurashi_marugoto" in d.agencies and "csw_area2" in d.agencies


def test_consent_belongs_to_a_person_the_mothers_is_not_the_sons(pack):
    d = decide(pack, case(household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]))
    assert set(d.meetings) == {"juso_kaigi", "shien_kaigi"}    # the mother's plan; the son's information
    assert "outreach" in d.programs and "csw_area2" in d.agencies   # nobody has met the son yet
    assert d.proposed == ()


def test_old_and_new_consent_contract_decide_alike(pack):
    old = case(consent="no")
    new = case(person={"age": 82, "concerns": ["care_need"], "consent": "no"})
    del new["consent"]
    assert decide(pack, old) == decide(pack, new)
    with pytest.raises(CaseError, match="本人同意が2か所で違います"):
        decide(pack, case(consent="no", person={"age": 82, "concerns": ["care_need"], "consent": "yes"}))


def test_a_relation_alias_stands_for_its_relation(pack):
    d = decide(pack, case(household=[{"relation": "夫", "age": 80, "concerns": ["dementia"], "consent": "yes"}]))
    assert next(t for t in d.trace if t.rule == "field_kaigo")
    with pytest.raises(CaseError) as err:
        decide(pack, case(household=[{"relation": "おじさん", "age": 60}]))
    assert "夫・妻・内縁の夫・内縁の妻 → 配偶者" in str(err.value)


def test_8050_household_without_consent_goes_to_shien_kaigi_not_juso(pack):
    d = decide(pack, case(consent="no", household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]))
    assert "shien_kaigi" in d.meetings and "juso_kaigi" not in d.meetings
    assert "outreach" in d.programs and "csw_area2" in d.agencies


def test_unanswered_consent_counts_as_no_consent(pack):
    c = case(household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}])
    del c["consent"]
    assert decide(pack, c).meetings == ("shien_kaigi",)


def test_debt_and_arrears_are_one_field(pack):
    d = decide(pack, case(person={"age": 40, "concerns": ["debt", "arrears"]}))
    assert d.agencies == ("jiritsu_soudan",)
    assert "multi_agency" not in d.programs and d.meetings == ()


def test_area_picks_the_covering_houkatsu_and_csw(pack):
    for area, houkatsu in (("area1", "houkatsu_a"), ("area3", "houkatsu_b"), ("area4", "houkatsu_b")):
        d = decide(pack, case(area=area, consent="no", person={"age": 80, "concerns": ["care_need", "isolation"]}))
        assert houkatsu in d.agencies and f"csw_{area}" in d.agencies


def test_non_resident_gets_no_multi_agency_and_no_meeting(pack):
    d = decide(pack, case(resident=False, household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]))
    assert "multi_agency" not in d.programs and d.meetings == ()
    assert "residence_municipality" in d.agencies


def test_area_of_a_non_resident_is_hidden_and_unanswered(pack):
    d = decide(pack, case(resident=False, area="area2"))
    assert "houkatsu_a" not in d.agencies


def test_abuse_of_an_elderly_person_is_urgent_and_goes_to_houkatsu_and_the_city(pack):
    d = decide(pack, case(area="area3", person={"age": 79, "concerns": ["abuse"]}))
    assert d.priority == "urgent"
    assert {"houkatsu_b", "kaigo_hoken_gyakutai"} <= set(d.agencies)
    entry = next(t for t in d.trace if t.rule == "abuse_elderly")
    assert entry.facts["該当する世帯員"] == ["本人"]


def test_info_request_alone_is_information_only(pack):
    d = decide(pack, case(person={"age": 30, "concerns": ["info_request"]}))
    assert d.programs == ("comprehensive",) and d.agencies == () and d.meetings == ()
    assert [t.rule for t in d.trace] == ["comprehensive_entry", "info_request_only"]


def test_string_age_is_coerced_before_rules_compare(pack):
    # durable_rules would find "70" >= 65 true by comparing strings; "9" >= 65 too.
    d = decide(pack, case(person={"age": "9", "concerns": ["abuse"]}))
    assert "houkatsu_a" not in d.agencies
    d = decide(pack, case(person={"age": "７０", "concerns": ["abuse"]}))
    assert "houkatsu_a" in d.agencies


def test_wrong_values_are_rejected_with_every_problem_named(pack):
    with pytest.raises(CaseError) as err:
        decide(pack, case(area="area9", person={"age": "abc", "concerns": ["care_ned"]}))
    text = str(err.value)
    assert "area9" in text and "もしかして: care_need" in text and "年齢" in text
    assert len(err.value.issues) == 3


def test_missing_area_is_a_warning_not_a_crash(pack):
    c = case()
    del c["area"]
    d = decide(pack, c)
    assert d.agencies == ()
    assert any("圏域" in w for w in d.warnings)


def test_trace_names_rule_reason_and_matched_facts(pack):
    d = decide(pack, case(household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]))
    entry = next(t for t in d.trace if t.rule == "complex_consent")
    assert entry.facts == {"resident": True, "complex": True, "consented_concern": True, "該当する世帯員": ["本人"]}
    assert "重層的支援会議" in entry.reason
    assert d.config_version == pack.version


def _pack_with_rules(tmp_path: Path, rules: list[dict]) -> object:
    root = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, root)
    data = yaml.safe_load((root / "rules.yaml").read_text(encoding="utf-8"))
    data["rules"] = rules
    (root / "rules.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_pack(root)


def test_or_branches_fire_a_rule_once(tmp_path):
    p = _pack_with_rules(tmp_path, [{"id": "either", "label": "どちらか", "when": {"any": [
        {"fact": "person.consent", "op": "=", "value": "yes"}, {"fact": "resident", "op": "=", "value": True}]},
        "then": {"programs": ["comprehensive"], "reason": "テスト"}}])
    assert [t.rule for t in decide(p, case()).trace] == ["either"]


def test_a_rule_on_unanswered_facts_alone_terminates(tmp_path):
    # A bare $nex would match durable_rules' own state object and loop forever.
    p = _pack_with_rules(tmp_path, [{"id": "no_summary", "label": "概要なし", "when": {"fact": "summary", "op": "unanswered"},
                                     "then": {"programs": ["comprehensive"], "reason": "テスト"}}])
    c = case()
    del c["summary"]
    assert [t.rule for t in decide(p, c).trace] == ["no_summary"]
    assert decide(p, case()).trace == ()


def test_count_members_and_not_any_member(tmp_path):
    p = _pack_with_rules(tmp_path, [
        {"id": "two_with_concerns", "label": "2人以上", "then": {"meetings": ["juso_kaigi"], "reason": "テスト"},
         "when": {"count_members": {"fact": "concerns", "op": "answered"}, "op": ">=", "value": 2}},
        {"id": "no_elderly", "label": "高齢者なし", "then": {"programs": ["outreach"], "reason": "テスト"},
         "when": {"not": {"any_member": {"fact": "age", "op": ">=", "value": 65}}}}])
    d = decide(p, case(household=[{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]))
    assert d.meetings == ("juso_kaigi",) and d.programs == ()
    d = decide(p, case(person={"age": 40, "concerns": ["debt"]}, household=[{"relation": "長男", "age": 12}]))
    assert d.meetings == () and d.programs == ("outreach",)


def test_same_rules_compile_to_one_ruleset(pack):
    first, second = compile_rules(pack.rules), compile_rules(pack.rules)
    assert first.name == second.name and first.handle == second.handle


def test_concurrent_decisions_from_threads_agree(pack):
    cases = [case(area=a, consent=c, household=[{"relation": "長男", "age": 50, "concerns": ["withdrawal"]}])
             for a in ("area1", "area2", "area3", "area4") for c in ("yes", "no")]
    expected = [decide(pack, c) for c in cases]
    results: list = []
    errors: list = []

    def worker():
        try:
            for _ in range(25):
                results.append([decide(pack, c) for c in cases] == expected)
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 200 and all(results)
