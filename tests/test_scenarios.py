"""The pack's routing scenarios (YAML written by staff), and the scenario loader's messages."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.changes.scenarios import load_scenarios, render_failure, run_all, run_scenario
from engine.errors import ConfigError
from engine.pack import DEFAULT_PACK, bundled_packs, load_pack
from engine.pack.model import frozen

SCENARIO_DIR = DEFAULT_PACK / "scenarios"


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def scenarios(pack):
    return {Path(s.file).name: s for s in load_scenarios(SCENARIO_DIR, pack)}


# Every bundled pack's scenarios, one test per file: a new pack under config/ is covered at once.
PACKS = {root.name: root for root in bundled_packs()}
PACK_FILES = [(name, p.name) for name, root in PACKS.items() for p in sorted((root / "scenarios").glob("*.yaml"))]


@pytest.fixture(scope="module")
def bundled():
    out = {}
    for name, root in PACKS.items():
        pack = load_pack(root)
        out[name] = (pack, {Path(s.file).name: s for s in load_scenarios(root / "scenarios", pack)})
    return out


@pytest.mark.parametrize("name", sorted(PACKS))
def test_there_are_enough_scenarios_with_explanations(bundled, name):
    pack, scenarios = bundled[name]
    assert len(scenarios) >= 20
    assert all(s.explanation.strip() for s in scenarios.values())


@pytest.mark.parametrize("name,file", PACK_FILES)
def test_scenario_passes(bundled, name, file):
    pack, scenarios = bundled[name]
    result = run_scenario(pack, scenarios[file])
    assert result.passed, render_failure(result, pack)


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_enabled_rule_fires_in_some_scenario(bundled, name):
    pack, _ = bundled[name]
    fired = {t.rule for r in run_all(pack) if r.decision for t in r.decision.trace}
    never = [r.id for r in pack.rules if r.enabled and r.id not in fired]
    assert not never, f"どのシナリオでも成り立たないルール: {never}"


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_scenario_checks_the_four_main_keys(bundled, name):
    for file, s in bundled[name][1].items():
        missing = {"programs", "agencies", "meetings", "priority"} - set(s.expect)
        assert not missing, f"{name}/{file}: expect に {missing} がありません"


GOOD = """\
name: 見本
解説: 見本です。
case:
  received_on: "2026-11-20"
  channel: self
  resident: true
  area: area2
  consent: "yes"
  person: {age: 78, concerns: [care_need]}
expect:
  programs: [comprehensive]
  agencies: [houkatsu_a]
"""

# (what is wrong, file text, key, line, words the message must contain, words the hint must contain)
BAD = [
    ("unknown_key", GOOD.replace("expect:", "expcet:"), "expcet", 10, "知らない項目「expcet」", "もしかして: expect"),
    ("unknown_agency", GOOD.replace("[houkatsu_a]", "[houkatsu_a, houkatu_b]"), "expect.agencies[1]", 12,
     "機関「houkatu_b」は設定パックにありません", "もしかして: houkatsu_b"),
    ("unknown_meeting_in_not", GOOD + "  not: {meetings: [juso]}\n", "expect.not.meetings[0]", 13,
     "会議「juso」は設定パックにありません", "もしかして: juso_kaigi"),
    ("unknown_priority", GOOD + "  priority: urgnet\n", "expect.priority", 13, "優先度「urgnet」", "もしかして: urgent"),
    ("broken_yaml", GOOD.replace("[care_need]}", "[care_need}"), "", 9, "YAML の書き方に誤りがあります", "かっこ"),
    ("duplicate_key", GOOD.replace("  area: area2\n", "  area: area2\n  area: area3\n"), "case.area", 8,
     "キー「area」が重複しています", "どちらか一方"),
    ("missing_explanation", GOOD.replace("解説: 見本です。\n", ""), "解説", 1, "必須の項目がありません", "解説"),
    ("unquoted_yes", GOOD.replace('consent: "yes"', "consent: yes"), "case.consent", 8,
     "true / false として読まれました", '"yes"'),
]


@pytest.mark.parametrize("text, key, line, message, hint", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_load_scenarios_rejects_bad_file(pack, tmp_path, text, key, line, message, hint):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenarios(folder, pack)
    found = [i for i in err.value.issues if message in i.message]
    assert found, err.value.render()
    assert (found[0].file, found[0].key, found[0].line) == ("scenarios/bad.yaml", key, line)
    assert hint in found[0].hint


def test_good_file_loads(pack, tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD, encoding="utf-8")
    [s] = load_scenarios(tmp_path, pack)
    assert (s.name, s.explanation, s.expect["agencies"]) == ("見本", "見本です。", ("houkatsu_a",))
    assert run_scenario(pack, s).passed


def test_wrong_expectation_fails_naming_the_key(pack, scenarios):
    s = scenarios["01_single_elderly_care.yaml"]
    wrong = dataclasses.replace(s, expect=frozen({"agencies": ["houkatsu_b"], "priority": "normal"}))
    result = run_scenario(pack, wrong)
    assert not result.passed
    assert result.differences == (("agencies", ("houkatsu_b",), ("houkatsu_a",)),)
    text = render_failure(result, pack)
    assert "■ 機関" in text and "期待: 地域包括支援センターB" in text and "結果: 地域包括支援センターA" in text
    assert "field_kaigo" in text  # the trace says why


def test_absent_id_that_appears_fails(pack, scenarios):
    s = scenarios["02_8050_consent.yaml"]
    result = run_scenario(pack, dataclasses.replace(s, expect=frozen({"not": {"meetings": ["juso_kaigi"]}})))
    assert [d[0] for d in result.differences] == ["not.meetings"]
    assert "重層的支援会議（juso_kaigi） が含まれています" in render_failure(result, pack)


def test_invalid_case_is_a_failure_with_error(pack, scenarios):
    s = scenarios["01_single_elderly_care.yaml"]
    result = run_scenario(pack, dataclasses.replace(s, case=frozen({**s.case, "channel": "postcard"})))
    assert not result.passed and result.decision is None
    assert "相談経路" in result.error
    assert "ケースを読めません" in render_failure(result, pack)
