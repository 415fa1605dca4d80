"""The engine against an independent reading of the rule language (``oracle.py``).

The engine compiles rules to durable_rules, which has no ``not``, no ``in`` and no
counting; ``oracle.reference_decide`` evaluates the same YAML in plain Python straight
from the documented semantics. Generated cases must get the same answer from both,
under the Hannan pack and under a synthetic pack that uses every construct.
"""
from __future__ import annotations

import copy
import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, event, given, seed, settings
from hypothesis import strategies as st
from oracle import load_pack_data, reference_decide, reference_facts

from engine.errors import ConfigError
from engine.pack import bundled_packs, load_pack
from engine.rules.decide import decide

HANNAN = Path(__file__).resolve().parent.parent / "config" / "hannan"
RAW = load_pack_data(HANNAN)
LISTS = RAW["lists"]
CONCERNS = [c["id"] for c in LISTS["concerns"]]
CHANNELS = [c["id"] for c in LISTS["channels"]]
THIRD_PARTY = ("neighbour", "minsei", "partner_company", "school", "landlord", "agency")
AREAS = [a["id"] for a in LISTS["areas"]]
DISTRICTS = [d["id"] for d in LISTS["school_districts"]]
# Staff may type a relation's Japanese label instead of its id (続柄「長男」).
# or a word the vocabulary declares as an alias (夫 → 配偶者).
RELATION_INPUTS = ([r["id"] for r in LISTS["relations"]] + [r["label"] for r in LISTS["relations"]]
                   + [a for r in LISTS["relations"] for a in r.get("aliases") or ()])
FIELD_OF = {c["id"]: c.get("field") for c in LISTS["concerns"]}

MISSING = object()
CONSENTS = st.sampled_from(["yes", "no", "unknown", MISSING, None])
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- generated cases ----------------------------------------------------------------------

def optional(strategy, *empties):
    """A value, or the field left out, or (sometimes) an empty value that means unanswered."""
    return st.one_of(st.just(MISSING), strategy, strategy, *(st.just(e) for e in empties))


# Ages near the thresholds the rules use, as well as anywhere in range.
AGES = st.one_of(st.integers(0, 105), st.sampled_from([0, 5, 12, 13, 17, 18, 29, 30, 40, 64, 65, 74, 75, 80, 90, 91]))
CONCERN_SETS = st.lists(st.sampled_from(CONCERNS), unique=True, max_size=5)
DATES = st.one_of(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2026, 12, 31)),
                  st.sampled_from(["2024-03-31", "2024-04-01", "2024-12-31", "2025-01-01", "2025-03-31", "2025-04-01"]))


def _put(target: dict, key: str, value) -> None:
    if value is not MISSING:
        target[key] = value


@st.composite
def members(draw, self_member: bool) -> dict:
    out: dict = {} if self_member else {"relation": draw(st.sampled_from(RELATION_INPUTS))}
    _put(out, "age", draw(optional(AGES, None)))
    _put(out, "concerns", draw(optional(CONCERN_SETS, [])))
    _put(out, "consent", draw(CONSENTS))     # consent belongs to each person
    return out


@st.composite
def cases(draw) -> dict:
    """Cases over the intake contract, steered into the regions the rules care about."""
    case: dict = {"received_on": str(draw(DATES))}
    _put(case, "channel", draw(st.one_of(st.sampled_from(CHANNELS), st.sampled_from(THIRD_PARTY), st.just(MISSING))))
    _put(case, "reporter", draw(optional(st.sampled_from(["隣に住む人", "ケアマネジャー", "民生委員"]), "")))
    _put(case, "resident", draw(st.sampled_from([True, True, False, MISSING, None])))
    _put(case, "area", draw(optional(st.sampled_from(AREAS), "")))
    _put(case, "school_district", draw(optional(st.sampled_from(DISTRICTS))))
    person = draw(members(self_member=True))
    if "consent" not in person:               # the old contract: a top-level consent is the person's own
        _put(case, "consent", draw(CONSENTS))
    household = draw(st.lists(members(self_member=False), max_size=4))
    everyone = [person, *household]
    # Plant the rarer situations, so they are not left to a 1-in-17 draw per slot.
    plant = draw(st.sampled_from(["none", "none", "elder_abuse", "abuse", "two_fields", "child", "child_abuse", "dv",
                                  "self_neglect", "between", "guardianship", "reoffending", "info"]))
    who = everyone[draw(st.integers(0, len(everyone) - 1))]

    def add(*concerns):
        who["concerns"] = list(dict.fromkeys([*(who.get("concerns") or []), *concerns]))
    if plant in ("elder_abuse", "abuse", "child_abuse"):
        add("abuse")
        if plant == "elder_abuse":
            who["age"] = draw(st.integers(65, 105))
        elif plant == "child_abuse":
            who["age"] = draw(st.integers(0, 17))
    elif plant == "dv":
        add("dv")
    elif plant == "self_neglect":
        add("hoarding")
        who["age"] = draw(st.integers(60, 100))
    elif plant == "between":
        add("withdrawal")
        who["age"], who["consent"] = draw(st.integers(12, 70)), "yes"
    elif plant == "info":                     # only 「福祉サービスを知りたい」 in the whole household
        for m in everyone:
            m.pop("concerns", None)
        person["concerns"] = ["info_request"]
    elif plant in ("guardianship", "reoffending"):
        add(plant, *draw(st.lists(st.sampled_from(["dementia", "disability", "housing"]), max_size=1)))
        who["age"] = draw(st.integers(40, 95))
    elif plant == "two_fields":
        who["concerns"] = list(dict.fromkeys([*(who.get("concerns") or []), *draw(
            st.lists(st.sampled_from(["care_need", "disability", "childcare", "debt", "withdrawal"]), min_size=2, max_size=2, unique=True))]))
    elif plant == "child":
        who["age"] = draw(st.integers(0, 17))
    if person.get("consent") not in (None, ""):
        case.pop("consent", None)             # both contracts at once would contradict each other
    _put(case, "abuse_detail", draw(optional(st.sampled_from(["大きな声が聞こえる", "あざがある"]))))
    _put(case, "person", person)
    if household or draw(st.booleans()):
        case["household"] = household
    return case


def _label_regions(case: dict) -> None:
    """Hypothesis statistics (pytest --hypothesis-show-statistics) show what was hit."""
    facts, members_ = reference_facts(RAW, case)
    fields = {FIELD_OF[c] for m in members_ for c in m.get("concerns", []) if FIELD_OF[c]}
    event(f"分野の数 {min(len(fields), 3)}{'+' if len(fields) >= 3 else ''}")
    event(f"resident={facts.get('resident', '未回答')}")
    if facts.get("channel") in THIRD_PARTY:
        event("第三者からの連絡")
    if any("abuse" in m.get("concerns", []) and m.get("age", 0) >= 65 for m in members_):
        event("65歳以上への虐待の疑い")


def engine_view(decision) -> dict:
    return {"programs": list(decision.programs), "agencies": list(decision.agencies),
            "meetings": list(decision.meetings), "resources": list(decision.resources),
            "proposed": list(decision.proposed), "priority": decision.priority, "rules": [t.rule for t in decision.trace]}


def fired_in_sample(raw: dict, n: int) -> tuple[Counter, Counter, int]:
    """Over a fixed (derandomized) sample of ``n`` generated cases: how often each rule fired / did not."""
    fired, idle, seen = Counter(), Counter(), []
    all_ids = [r["id"] for r in raw["rules"]["rules"]]

    # An explicit seed, not derandomize: the derandomized seed changed with which tests
    # ran before in the same process, and with it the sample this check looks at.
    @seed(20261126)
    @settings(max_examples=n, phases=[Phase.generate], **{**SETTINGS, "derandomize": False})
    @given(case=cases())
    def run(case):
        seen.append(1)
        got = set(reference_decide(raw, case)["rules"])
        fired.update(got)
        idle.update(set(all_ids) - got)

    run()
    return fired, idle, len(seen)


# --- the Hannan pack ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def hannan():
    return load_pack(HANNAN)


@settings(max_examples=1000, **SETTINGS)
@given(case=cases())
def test_engine_agrees_with_oracle_hannan(hannan, case):
    _label_regions(case)
    assert engine_view(decide(hannan, case)) == reference_decide(RAW, case), case


def test_sample_fires_every_enabled_rule_hannan():
    fired, _, n = fired_in_sample(RAW, 600)       # 33 rules now: 300 cases missed the rarest
    enabled = [r["id"] for r in RAW["rules"]["rules"] if r.get("enabled", True)]
    assert n == 600
    assert [r for r in enabled if not fired[r]] == [], fired


# --- every bundled pack, with cases drawn from the pack's own vocabulary --------------------

@st.composite
def pack_cases(draw, raw: dict) -> dict:
    """Cases over the intake contract for any pack: its channels, areas, consent answers,
    relations and concerns; planted with a concern outside every 分野 (the safety ones)
    or with two concerns of different 分野, so multi-agency and safety rules are reached."""
    lists = raw["lists"]
    concerns = [c["id"] for c in lists["concerns"]]
    field_of = {c["id"]: c.get("field") for c in lists["concerns"]}
    relations = [r["id"] for r in lists["relations"]] + [r["label"] for r in lists["relations"]]

    def member(self_member: bool) -> dict:
        out: dict = {} if self_member else {"relation": draw(st.sampled_from(relations))}
        _put(out, "age", draw(optional(AGES, None)))
        _put(out, "concerns", draw(optional(st.lists(st.sampled_from(concerns), unique=True, max_size=4), [])))
        return out

    case: dict = {"received_on": str(draw(DATES))}
    _put(case, "channel", draw(optional(st.sampled_from([c["id"] for c in lists["channels"]]))))
    _put(case, "reporter", draw(optional(st.sampled_from(["隣に住む人", "担任"]), "")))
    _put(case, "resident", draw(st.sampled_from([True, True, False, MISSING, None])))
    _put(case, "area", draw(optional(st.sampled_from([a["id"] for a in lists["areas"]]), "")))
    _put(case, "consent", draw(st.sampled_from([c["id"] for c in lists["consent"]] + [MISSING, None])))
    person, household = member(True), [member(False) for _ in range(draw(st.integers(0, 3)))]
    everyone = [person, *household]
    who = everyone[draw(st.integers(0, len(everyone) - 1))]
    plant = draw(st.sampled_from(["none", "no_field", "two_fields"]))
    unfielded = [c for c in concerns if not field_of[c]]
    if plant == "no_field" and unfielded:
        who["concerns"] = list(dict.fromkeys([*(who.get("concerns") or []), draw(st.sampled_from(unfielded))]))
    elif plant == "two_fields":
        by_field = {}
        for c in concerns:
            if field_of[c]:
                by_field.setdefault(field_of[c], c)
        picked = draw(st.lists(st.sampled_from(sorted(by_field)), min_size=2, max_size=2, unique=True))
        who["concerns"] = list(dict.fromkeys([*(who.get("concerns") or []), *(by_field[f] for f in picked)]))
    case["person"] = person
    if household:
        case["household"] = household
    return case


BUNDLED = {root.name: (root, load_pack_data(root)) for root in bundled_packs()}


@pytest.fixture(scope="module")
def bundled():
    return {name: load_pack(root) for name, (root, _) in BUNDLED.items()}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_engine_agrees_with_oracle_every_bundled_pack(bundled, name):
    raw = BUNDLED[name][1]

    @settings(max_examples=400, **SETTINGS)
    @given(case=pack_cases(raw))
    def check(case):
        assert engine_view(decide(bundled[name], case)) == reference_decide(raw, case), case

    check()


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_generated_cases_reach_the_safety_and_multi_agency_rules(bundled, name):
    """The generator is not blind: over a fixed sample, every rule that sets a priority or
    names a meeting fires at least once (so the agreement above covers them)."""
    raw = BUNDLED[name][1]
    fired: Counter = Counter()

    @seed(20261130)
    @settings(max_examples=600, phases=[Phase.generate], **{**SETTINGS, "derandomize": False})
    @given(case=pack_cases(raw))
    def run(case):
        fired.update(reference_decide(raw, case)["rules"])

    run()
    wanted = [r["id"] for r in raw["rules"]["rules"] if r.get("enabled", True)
              and (r["then"].get("priority") or r["then"].get("meetings"))]
    assert wanted and [r for r in wanted if not fired[r]] == [], fired


# --- a synthetic pack that uses every construct of the language ---------------------------

SYNTHETIC_RULES = """
members: {self_group: person, self_relation: self, repeat: household}
derived:
  - {id: all_concerns, label: 世帯の相談内容, fn: member_values, field: concerns}
  - {id: fields, label: 世帯の分野, fn: member_fields, field: concerns}
  - {id: field_count, label: 分野の数, fn: count, of: fields}
  - {id: concern_count, label: 相談内容の数, fn: count, of: all_concerns}
  - {id: relations_seen, label: 世帯の続柄, fn: member_values, field: relation}
  - {id: oldest_age, label: 最年長, fn: max_member, field: age}
  - {id: youngest_age, label: 最年少, fn: min_member, field: age}
  - {id: has_elder, label: 75歳以上がいる, fn: any_member, where: {fact: age, op: ">=", value: 75}}
  - {id: members_with_concerns, label: 困りごとのある人数, fn: count_members, where: {fact: concerns, op: answered}}
  - id: watch_channel
    label: 見守りの経路
    fn: condition
    when:
      any:
        - {fact: channel, op: in, value: [neighbour, minsei]}
        - all: [{fact: oldest_age, op: ">", value: 80}, {fact: has_elder, op: "=", value: true}]
rules:
  - {id: r_empty_all, label: 空のall, when: {all: []}, then: {programs: [comprehensive], reason: 空のallはいつも成り立つ}}
  - {id: r_disabled, label: 無効, enabled: false, when: {all: []}, then: {priority: urgent, programs: [community], reason: 無効なルールは動かない}}
  - {id: r_in, label: in, when: {fact: channel, op: in, value: [neighbour, minsei, partner_company]}, then: {programs: [outreach], reason: 経路がin}}
  - {id: r_not_in, label: not_in, when: {fact: channel, op: not_in, value: [self, family]}, then: {meetings: [chonai_renkei], reason: 経路がnot_in}}
  - {id: r_ne_select, label: 選択の!=, when: {fact: person.consent, op: "!=", value: "yes"}, then: {meetings: [shien_kaigi], reason: 同意が回答ありでyes以外}}
  - {id: r_not_eq, label: notと=, when: {not: {fact: person.consent, op: "=", value: "yes"}}, then: {programs: [participation], reason: 同意ありでない（未回答を含む）}}
  - {id: r_lt, label: "<", when: {fact: person.age, op: "<", value: 18}, then: {priority: high, reason: 本人が18歳未満}}
  - {id: r_le_alias, label: "≤", when: {fact: person.age, op: "≤", value: 5}, then: {resources: [kosodate_kyoten], reason: 本人が5歳以下}}
  - {id: r_gt, label: ">", when: {fact: oldest_age, op: ">", value: 90}, then: {priority: high, reason: 最年長が90歳超}}
  - {id: r_ge_alias, label: "≥", when: {fact: field_count, op: "≥", value: 2}, then: {programs: [multi_agency], agencies: [kurashi_marugoto], reason: 2分野以上}}
  - {id: r_eq_alias, label: "==", when: {fact: concern_count, op: "==", value: 1}, then: {resources: [hokkori_soudan], reason: 相談内容がちょうど1つ}}
  - {id: r_count_zero, label: count 0, when: {fact: concern_count, op: "=", value: 0}, then: {resources: [kodomo_fukushi_iin], reason: 相談内容なしは0と数える}}
  - {id: r_int_in, label: 整数のin, when: {fact: person.age, op: in, value: [0, 5, 65, 70, 90]}, then: {meetings: [kusanone], reason: 年齢が一覧にある}}
  - {id: r_int_not_in, label: 整数のnot_in, when: {fact: person.age, op: not_in, value: [0, 5, 65, 70, 90]}, then: {resources: [kusanone_event], reason: 年齢が一覧にない}}
  - {id: r_int_ne, label: 整数の!=, when: {fact: person.age, op: "≠", value: 40}, then: {resources: [kusanone_soudan], reason: 年齢が40でない}}
  - {id: r_date_lt, label: 日付の<, when: {fact: received_on, op: "<", value: "2024-04-01"}, then: {priority: high, reason: 2024年度より前の受付}}
  - id: r_date_range
    label: 日付の範囲
    when: {all: [{fact: received_on, op: ">=", value: "2025-01-01"}, {fact: received_on, op: "<=", value: "2025-03-31"}]}
    then: {meetings: [seikatsu_shien_kyogikai], reason: 2025年1〜3月の受付}
  - {id: r_bool_ne, label: 真偽の!=, when: {fact: resident, op: "≠", value: true}, then: {agencies: [residence_municipality], reason: 在住でないと回答}}
  - {id: r_contains, label: contains, when: {fact: all_concerns, op: contains, value: abuse}, then: {priority: urgent, reason: 虐待の疑い}}
  - {id: r_not_contains, label: not_contains, when: {fact: fields, op: not_contains, value: kaigo}, then: {programs: [community], reason: 分野はあるが介護はない}}
  - {id: r_not_contains_neg, label: notとcontains, when: {not: {fact: fields, op: contains, value: kaigo}}, then: {resources: [mimamori_kyotei], reason: 介護の分野がない（分野なしを含む）}}
  - {id: r_unanswered, label: unanswered, when: {fact: area, op: unanswered}, then: {resources: [anshin_dial], reason: 圏域が未回答（隠れた場合を含む）}}
  - {id: r_answered, label: answered, when: {fact: abuse_detail, op: answered}, then: {meetings: [shien_kaigi], priority: urgent, reason: 虐待の内容の記入あり}}
  - {id: r_text_in, label: 文字のin, when: {fact: reporter, op: in, value: ["隣に住む人", "ケアマネジャー"]}, then: {resources: [kaimono_shien], reason: 連絡者が近所かケアマネ}}
  - id: r_district
    label: 校区
    when: {all: [{fact: school_district, op: in, value: [sd01, sd02, sd04, sd05, sd07, sd08, sd10, sd11]}, {fact: area, op: answered}]}
    then: {resources: [noufuku_gyofuku], reason: 校区が各圏域の最初の2校区で圏域あり}
  - id: r_any
    label: any
    when: {any: [{fact: person.age, op: ">=", value: 65}, {fact: person.consent, op: "=", value: "no"}, {any: []}]}
    then: {resources: [machinaka_salon], reason: 65歳以上か同意なし}
  - id: r_not_any
    label: notとany
    when: {not: {any: [{fact: channel, op: "=", value: self}, {fact: person.concerns, op: contains, value: info_request}]}}
    then: {resources: [kusanone_network], reason: 本人からでも情報提供でもない}
  - id: r_not_all
    label: notとall
    when: {not: {all: [{fact: resident, op: "=", value: true}, {fact: person.consent, op: "=", value: "yes"}, {fact: person.age, op: ">=", value: 18}]}}
    then: {programs: [outreach], reason: 在住・同意・成人のどれかが欠ける}
  - id: r_any_member
    label: any_member
    when: {any_member: {all: [{fact: relation, op: in, value: [eldest_son, second_son, child]}, {fact: age, op: "<", value: 30}]}}
    then: {resources: [kusanone_ibasho], reason: 30歳未満の息子・子がいる}
  - id: r_not_any_member
    label: notとany_member
    when: {all: [{fact: resident, op: "=", value: true}, {not: {any_member: {fact: concerns, op: contains, value: withdrawal}}}]}
    then: {agencies: [{kind: csw, covering: area}], reason: 在住でだれもひきこもりでない}
  - {id: r_member_unanswered, label: 世帯員の未回答, when: {any_member: {fact: age, op: unanswered}}, then: {resources: [hikikomori_npo], reason: 年齢未回答の世帯員がいる}}
  - {id: r_member_not_contains, label: 世帯員のnot_contains, when: {any_member: {fact: concerns, op: not_contains, value: abuse}}, then: {resources: [chiiki_katsudo_center], reason: 困りごとがあり虐待でない人がいる}}
  - {id: r_count_ge, label: count_members, when: {count_members: {fact: concerns, op: answered}, op: "≥", value: 2}, then: {meetings: [juso_kaigi], reason: 困りごとのある人が2人以上}}
  - {id: r_not_count, label: notとcount_members, when: {not: {count_members: {fact: age, op: "<", value: 18}, op: "=", value: 0}}, then: {resources: [kosodate_demae_hiroba], reason: 18歳未満が1人以上}}
  - {id: r_count_lt, label: count_membersの<, when: {count_members: {fact: relation, op: "!=", value: self}, op: "<", value: 2}, then: {resources: [kaigo_yobo_kyoten], reason: 本人以外が1人以下}}
  - {id: r_min_member, label: min_member, when: {fact: youngest_age, op: "<=", value: 12}, then: {agencies: [riyousha_shien], reason: 最年少が12歳以下}}
  - id: r_derived_bool
    label: any_memberの派生
    when: {all: [{fact: has_elder, op: "=", value: false}, {fact: oldest_age, op: answered}]}
    then: {agencies: [kikan_soudan], reason: 年齢はわかるが75歳以上がいない}
  - {id: r_derived_count, label: count_membersの派生, when: {fact: members_with_concerns, op: ">", value: 2}, then: {agencies: [{kind: houkatsu, covering: area}], reason: 困りごとのある人が3人以上}}
  - {id: r_condition, label: conditionの派生, when: {fact: watch_channel, op: "=", value: true}, then: {priority: high, reason: 見守りの経路}}
  - {id: r_relation_values, label: 続柄の一覧, when: {fact: relations_seen, op: contains, value: grandchild}, then: {agencies: [jiritsu_soudan], reason: 孫がいる}}
  - id: r_nested
    label: 入れ子
    when:
      any:
        - all: [{fact: fields, op: contains, value: konkyu}, {not: {fact: person.consent, op: in, value: ["yes"]}}]
        - {not: {any_member: {fact: age, op: ">=", value: 18}}}
    then: {agencies: [itaku_shogai_soudan], reason: 困窮で同意なし、または成人がいない}
  - id: r_not_empty_any
    label: notと空のany
    when: {all: [{not: {any: []}}, {fact: person.consent, op: unanswered}]}
    then: {agencies: [seikatsu_shien_coordinator_1], reason: 同意が未回答}
  - id: r_double_not
    label: 二重のnot
    when: {not: {not: {fact: resident, op: "=", value: false}}}
    then: {agencies: [{kind: seikatsu_shien_coordinator_2, covering: area}], reason: 市外在住}
  - id: r_proposed
    label: 提案する事業
    when: {any_member: {all: [{fact: concerns, op: contains, value: withdrawal}, {fact: consent, op: "=", value: "yes"}]}}
    then: {programs: [{id: participation, proposed: true}, {id: outreach, proposed: false}], reason: 同意したひきこもりの人がいる}
  - id: r_member_consent
    label: 世帯員の同意
    when: {count_members: {not: {fact: consent, op: in, value: ["yes", "no"]}}, op: ">=", value: 2}
    then: {programs: [participation], meetings: [shien_kaigi], reason: 同意が未確認の人が2人以上}
"""
ALWAYS = {"r_empty_all"}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs") / "synthetic"
    shutil.copytree(HANNAN, root)
    (root / "rules.yaml").write_text(SYNTHETIC_RULES, encoding="utf-8")
    try:
        pack = load_pack(root)
    except ConfigError as err:
        pytest.fail(f"load_pack rejected the synthetic rules:\n{err}")
    return pack, load_pack_data(root)


@settings(max_examples=600, **SETTINGS)
@given(case=cases())
def test_engine_agrees_with_oracle_synthetic(synthetic, case):
    pack, raw = synthetic
    assert engine_view(decide(pack, case)) == reference_decide(raw, case), case


def test_synthetic_rules_each_fire_and_fail_in_sample(synthetic):
    _, raw = synthetic
    fired, idle, n = fired_in_sample(raw, 300)
    enabled = [r["id"] for r in raw["rules"]["rules"] if r.get("enabled", True)]
    assert n == 300
    assert [r for r in enabled if not fired[r]] == [], fired
    assert [r for r in enabled if not idle[r] and r not in ALWAYS] == [], idle
    assert not fired["r_disabled"]


# --- regressions, written by hand -------------------------------------------------------

ELDER = {"received_on": "2025-05-01", "channel": "neighbour", "resident": True, "area": "area3", "consent": "no"}

REGRESSIONS = [
    # (name, case for the engine, case for the oracle, must fire, must not fire)
    ("age as text is a number, not a string", {**ELDER, "person": {"age": "70", "concerns": ["abuse"]}},
     {**ELDER, "person": {"age": 70, "concerns": ["abuse"]}}, {"abuse_elderly", "abuse_urgent"}, set()),
    ("age with 歳 and full-width digits", {**ELDER, "person": {"age": "７０歳", "concerns": ["abuse"]}},
     {**ELDER, "person": {"age": 70, "concerns": ["abuse"]}}, {"abuse_elderly"}, set()),
    ("'9' >= 65 is false for numbers", {**ELDER, "person": {"age": "9", "concerns": ["abuse"]}},
     {**ELDER, "person": {"age": 9, "concerns": ["abuse"]}}, {"abuse_urgent"}, {"abuse_elderly"}),
    ("64 is not 65", {**ELDER, "person": {"age": 64, "concerns": ["abuse"]}}, None, {"abuse_urgent"}, {"abuse_elderly"}),
    ("elder abuse in a household member, by Japanese relation label",
     {**ELDER, "person": {"age": 40, "concerns": ["work"]}, "household": [{"relation": "母", "age": 82, "concerns": ["abuse", "dementia"]}]},
     {**ELDER, "person": {"age": 40, "concerns": ["work"]}, "household": [{"relation": "mother", "age": 82, "concerns": ["abuse", "dementia"]}]},
     {"abuse_elderly", "multi_field", "shien_kaigi_no_consent", "third_party_no_consent"}, {"complex_consent"}),
    ("unanswered consent is 'not yes'", {**{k: v for k, v in ELDER.items() if k != "consent"},
                                          "person": {"age": 30, "concerns": ["debt", "childcare"]}},
     None, {"shien_kaigi_no_consent"}, {"complex_consent"}),
    ("the mother's consent is not the son's", {**ELDER, "channel": "self", "consent": "yes", "person": {"age": 80, "concerns": ["care_need"]},
                                               "household": [{"relation": "長男", "age": 50, "concerns": ["withdrawal"]}]},
     None, {"complex_consent", "shien_kaigi_no_consent", "household_unmet_outreach"}, {"participation_proposed"}),
    ("both consent: participation is proposed, no 支援会議",
     {**ELDER, "channel": "self", "consent": "yes", "person": {"age": 80, "concerns": ["care_need"]},
      "household": [{"relation": "長男", "age": 50, "concerns": ["withdrawal"], "consent": "yes"}]},
     None, {"complex_consent", "participation_proposed"}, {"shien_kaigi_no_consent", "household_unmet_outreach"}),
    ("DV in front of a child is child abuse", {**ELDER, "channel": "self", "person": {"age": 30, "concerns": ["dv"]},
                                               "household": [{"relation": "子", "age": 4}]},
     None, {"dv_safety", "child_abuse_notify"}, {"abuse_elderly"}),
    ("non-resident: area is hidden, no 圏域 agency", {**ELDER, "resident": False, "person": {"age": 80, "concerns": ["care_need", "abuse"]}},
     None, {"non_resident", "abuse_urgent"}, {"field_kaigo", "abuse_elderly", "third_party_no_consent"}),
    ("resident unanswered", {"received_on": "2025-05-01", "channel": "self", "person": {"age": 50, "concerns": ["debt", "withdrawal"]}},
     None, {"residence_unknown"}, {"field_konkyu", "multi_field", "non_resident"}),
    ("info request only", {**ELDER, "channel": "self", "person": {"age": 50, "concerns": ["info_request"]}},
     None, {"info_request_only"}, set()),
]


@pytest.mark.parametrize("name, engine_case, oracle_case, must, must_not", REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_regression_hannan(hannan, name, engine_case, oracle_case, must, must_not):
    got = engine_view(decide(hannan, engine_case))
    assert got == reference_decide(RAW, oracle_case or engine_case)
    assert must <= set(got["rules"]) and not must_not & set(got["rules"]), got["rules"]


def test_regression_non_resident_gets_no_area_agency(hannan):
    got = engine_view(decide(hannan, {**ELDER, "resident": False, "person": {"age": 80, "concerns": ["withdrawal"]}}))
    assert got["agencies"] == ["residence_municipality"]
    assert got == reference_decide(RAW, {**ELDER, "resident": False, "person": {"age": 80, "concerns": ["withdrawal"]}})


SYNTHETIC_REGRESSIONS = [
    ("abuse_detail is hidden without abuse", {"person": {"concerns": ["debt"]}, "abuse_detail": "あざがある"}, set(), {"r_answered"}),
    ("abuse_detail shown with abuse", {"person": {"concerns": ["abuse"]}, "abuse_detail": "あざがある"}, {"r_answered", "r_contains"}, set()),
    ("reporter hidden for channel self", {"channel": "self", "reporter": "隣に住む人"}, set(), {"r_text_in"}),
    ("area hidden for non-resident is unanswered", {"resident": False, "area": "area1"}, {"r_unanswered", "r_double_not", "r_bool_ne"}, {"r_district"}),
    ("unanswered fact: comparisons false, their negation true", {},
     {"r_not_eq", "r_not_contains_neg", "r_not_all", "r_count_zero", "r_not_empty_any", "r_count_lt"},
     {"r_ne_select", "r_not_contains", "r_lt", "r_int_not_in", "r_int_ne", "r_bool_ne", "r_min_member", "r_derived_bool",
      "r_not_any_member", "r_in", "r_not_in"}),
    ("relation by label 長男", {"household": [{"relation": "長男", "age": 20}]}, {"r_any_member", "r_count_lt"}, set()),
    ("min_member over members with an age only", {"person": {"age": 40}, "household": [{"relation": "child"}, {"relation": "孫", "age": 3}]},
     {"r_min_member", "r_relation_values", "r_member_unanswered", "r_not_count"}, {"r_count_lt"}),
]


@pytest.mark.parametrize("name, extra, must, must_not", SYNTHETIC_REGRESSIONS, ids=[r[0] for r in SYNTHETIC_REGRESSIONS])
def test_regression_synthetic(synthetic, name, extra, must, must_not):
    pack, raw = synthetic
    case = {"received_on": "2025-05-01", **extra}
    got = engine_view(decide(pack, case))
    assert got == reference_decide(raw, case)
    assert must <= set(got["rules"]) and not must_not & set(got["rules"]), got["rules"]


TEXT_AGES = [str, lambda a: f"{a}歳", lambda a: str(a).translate(str.maketrans("0123456789", "０１２３４５６７８９")), float]


@settings(max_examples=200, **SETTINGS)
@given(case=cases(), style=st.sampled_from(TEXT_AGES))
def test_engine_coerces_typed_ages_like_integers(hannan, case, style):
    """Ages typed as text ("70", "70歳", "７０") or floats decide as the integer would."""
    typed = copy.deepcopy(case)
    for m in [typed.get("person") or {}, *(typed.get("household") or [])]:
        if isinstance(m.get("age"), int):
            m["age"] = style(m["age"])
    assert engine_view(decide(hannan, typed)) == reference_decide(RAW, case), typed
