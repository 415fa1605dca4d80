"""設定 > ルール: the row builder's conversions (engine.changes.rule_build) and the page in AppTest."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from engine.changes.editing import EditError
from engine.changes.rule_build import (
    Comparison,
    Row,
    RuleForm,
    Unsupported,
    form_issues,
    from_rule,
    op_label,
    preview,
    rule_dict,
    with_rule,
)
from engine.changes.versions import ensure_live, live_pack, save_draft
from engine.pack import DEFAULT_PACK, load_pack
from engine.rules.sentences import rule_text
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
RULES_TEXT = (DEFAULT_PACK / "rules.yaml").read_text(encoding="utf-8")


def with_threshold(text: str, value: int) -> str:
    """rules.yaml with multi_field's own 2-分野 threshold changed (the derived fact `complex` keeps its own)."""
    head, tail = text.split("  - id: multi_field\n")
    return head + "  - id: multi_field\n" + tail.replace('{fact: field_count, op: ">=", value: 2}',
                                                          f'{{fact: field_count, op: ">=", value: {value}}}', 1)
RULES = yaml.safe_load(RULES_TEXT)["rules"]
PACK = load_pack()


def rule(rule_id: str) -> dict:
    return next(r for r in RULES if r["id"] == rule_id)


def rule_in(text: str, rule_id: str) -> dict:
    """One rule of a rules.yaml text, found by id (not by position: rules are added over time)."""
    return next(r for r in yaml.safe_load(text)["rules"] if r["id"] == rule_id)


# -- engine.changes.rule_build --------------------------------------------------------------------
@pytest.mark.parametrize("raw", RULES, ids=[r["id"] for r in RULES])

def test_every_hannan_rule_round_trips_through_rows(raw):
    form = from_rule(raw, "area")
    assert rule_dict(form, "area") == raw
    built, issues = preview(PACK, rule_dict(form, "area"))
    loaded = next(r for r in PACK.rules if r.id == raw["id"])
    assert issues == [] and rule_text(PACK, built) == rule_text(PACK, loaded)


def test_rows_read_like_the_rule():
    form = from_rule(rule("third_party_no_consent"), "area")
    assert form.combine == "all" and [r.scope for r in form.rows] == ["fact", "fact", "fact", "fact"]
    assert form.rows[2] == Row("fact", (Comparison("person.consent", "=", "yes"),), negate=True)
    assert form.kinds == ("csw",) and form.agencies == () and form.programs == ("outreach",)
    assert form.source.startswith("各種機関等とのネットワーク") and form.law == ""
    participation = from_rule(rule("participation_proposed"), "area")
    assert participation.programs == () and participation.proposed == ("participation",)
    elderly = from_rule(rule("guardianship_elderly"), "area").rows[1]
    assert elderly.scope == "any_member" and [t.fact for t in elderly.tests] == ["concerns", "age"]
    assert from_rule(rule("comprehensive_entry"), "area").rows == ()
    assert op_label("not_in") == "のいずれでもない"


NESTED = [
    {"not": {"all": [{"fact": "resident", "op": "=", "value": True}, {"fact": "field_count", "op": ">=", "value": 2}]}},
    {"all": [{"any": [{"fact": "person.consent", "op": "=", "value": "yes"}, {"fact": "field_count", "op": ">=", "value": 3}]}]},
    {"not": {"all": [{"any": [{"fact": "person.consent", "op": "=", "value": "yes"}]}]}},
    {"any_member": {"not": {"fact": "age", "op": ">=", "value": 65}}},
    {"any_member": {"any": [{"fact": "age", "op": ">=", "value": 65}, {"fact": "age", "op": "<", "value": 18}]}},
    {"not": {"not": {"fact": "resident", "op": "answered"}}},
]


@pytest.mark.parametrize("when", NESTED)
def test_nesting_the_rows_cannot_show_is_reported_not_mangled(when):
    with pytest.raises(Unsupported, match="上級（YAML）"):
        from_rule({"id": "x", "label": "x", "when": when, "then": {"reason": "r"}}, "area")


def test_an_agency_covering_another_fact_is_reported():
    raw = {**rule("field_kaigo"), "then": {"agencies": [{"kind": "houkatsu", "covering": "school_district"}], "reason": "r"}}
    with pytest.raises(Unsupported):
        from_rule(raw, "area")


def test_single_rows_stand_alone_and_member_counts_keep_their_comparison():
    count = Row("count_members", (Comparison("concerns", "answered"), Comparison("age", ">=", 65)), False, ">=", 2)
    form = RuleForm("two_elderly", "高齢の困りごと2人", "all", (count,), priority="high", reason="r")
    data = rule_dict(form, "area")
    assert data["when"] == {"count_members": {"all": [{"fact": "concerns", "op": "answered"},
                                                      {"fact": "age", "op": ">=", "value": 65}]}, "op": ">=", "value": 2}
    assert data["then"] == {"priority": "high", "reason": "r"}
    assert from_rule(data, "area") == form
    built, issues = preview(PACK, data)
    assert issues == [] and "世帯員が2人以上" in rule_text(PACK, built)


facts = st.sampled_from([("resident", "=", True), ("field_count", ">=", 2), ("person.consent", "in", ["yes", "no"]),
                         ("fields", "contains", "kaigo"), ("received_on", "<", "2026-04-01"), ("area", "unanswered", None)])
rows = st.builds(lambda c, neg: Row("fact", (Comparison(*c),), neg), facts, st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, max_size=4), st.sampled_from(["all", "any"]))
def test_any_form_of_rows_survives_the_file_and_loads(rows, combine):
    combine = combine if len(rows) != 1 else "all"
    form = RuleForm("x_rule", "ラベル", combine, tuple(rows), programs=("outreach",), reason="理由")
    data = rule_dict(form, "area")
    assert from_rule(yaml.safe_load(yaml.safe_dump(data)), "area") == form
    assert preview(PACK, data)[1] == []


def test_form_issues_are_japanese_and_name_the_row():
    form = RuleForm("multi_field", "", rows=(Row(), Row("fact", (Comparison("age_x", ">=", None),))), reason=" ")
    issues = form_issues(form, None, tuple(r["id"] for r in RULES))
    assert issues == ["ID「multi_field」はすでに別のルールが使っています。別のIDにしてください", "ルールの名前を入力してください",
                      "理由を入力してください（振り分けの結果に表示されます）", "条件1: 項目と演算子を選んでください",
                      "条件2: 値を入力してください"]
    assert form_issues(dataclasses.replace(form, label="x", reason="y", rows=()), "multi_field", ("multi_field",)) == []


def test_with_rule_keeps_the_files_comments_and_layout():
    form = from_rule(rule("multi_field"), "area")
    rows = (form.rows[0], Row("fact", (Comparison("field_count", ">=", 1),)))
    text = with_rule(RULES_TEXT, rule_dict(dataclasses.replace(form, rows=rows), "area"), "multi_field")
    assert text == with_threshold(RULES_TEXT, 1)
    added = with_rule(RULES_TEXT, rule_dict(dataclasses.replace(form, id="copy"), "area"), None)
    assert added.startswith(RULES_TEXT) and "\n\n  - id: copy\n" in added
    with pytest.raises(EditError):
        with_rule(RULES_TEXT, rule_dict(form, "area"), "no_such_rule")


# -- the page -----------------------------------------------------------------------------


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10).run()
    at.switch_page("views/settings/rules.py").run()
    assert not at.exception
    return at


def draft_rules(data) -> str | None:
    with open_repository(data) as repo:
        stored = repo.get_meta("config.draft")
    return stored["sources"]["rules.yaml"] if stored else None


def texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def save_raw(at: AppTest, text: str) -> AppTest:
    at.text_area(key="rules.raw").set_value(text)
    next(b for b in at.button if b.label == "YAMLを保存").click().run()
    assert not at.exception
    return at


def test_list_shows_every_rule_as_a_sentence_and_where_it_comes_from(data):
    at = open_page()
    shown = [m.value for m in at.markdown]
    captions = [c.value for c in at.caption]
    for r in PACK.rules:
        assert rule_text(PACK, r) in shown
    assert captions.count("市の方針（変更できます）") == sum(r.is_policy for r in PACK.rules) > 0
    assert "出典: 『潜在的な相談者の（本人同意がない人）の潜在的な課題について、支援を届けることを目的に情報共有』" in captions


def test_disabling_a_rule_writes_enabled_false_into_the_draft_and_keeps_comments(data):
    at = open_page()
    at.button(key="rules.list.multi_field.toggle").click().run()
    assert not at.exception
    text = draft_rules(data)
    written = next(r for r in yaml.safe_load(text)["rules"] if r["id"] == "multi_field")
    assert written == {**rule("multi_field"), "enabled": False}
    assert "# 振り分けルール（阪南市の既定）" in text and "# 情報提供だけの相談は「情報提供のみ」のルール" in text
    assert "ルール「2分野以上 → 多機関協働事業（市の方針）」を無効にしました。" in texts(at.success)
    assert at.button(key="rules.list.multi_field.toggle").label == "有効にする"
    assert any(m.value.startswith("（無効）") for m in at.markdown)


def test_builder_changes_the_threshold_in_the_draft_only(data):
    at = open_page()
    at.selectbox(key="rules.choice").set_value("multi_field").run()
    [value] = [n for n in at.number_input if n.label == "値"]
    value.set_value(1).run()
    assert "世帯の分野の数が1以上" in texts(at.info)
    next(b for b in at.button if b.label == "ルールを保存").click().run()
    assert not at.exception
    assert draft_rules(data) == with_threshold(RULES_TEXT, 1)
    assert "value: 1" in draft_rules(data)
    with open_repository(data) as repo:
        live = next(r for r in live_pack(repo, DEFAULT_PACK).rules if r.id == "multi_field")
    assert live.when.items[1].value == 2


def test_builder_adds_a_rule_and_refuses_one_that_never_fires(data):
    at = open_page()
    at.text_input(key="rules.edit.id").set_value("resident_high")
    at.text_input(key="rules.edit.label").set_value("在住 → 高")
    at.text_area(key="rules.edit.reason").set_value("試験用の理由です。")
    at.selectbox(key="rules.edit.priority").set_value("high")
    next(s for s in at.selectbox if s.label == "項目").set_value("resident").run()
    next(b for b in at.button if b.label == "＋ 条件を追加").click().run()
    second = [s for s in at.selectbox if s.label == "項目"][1]
    second.set_value("resident").run()
    [_, no] = [r for r in at.radio if r.label == "値"]
    no.set_value(False).run()
    next(b for b in at.button if b.label == "ルールを保存").click().run()
    assert not at.exception
    assert "決して成り立ちません" in texts(at.error) and draft_rules(data) is None
    at.text_input(key="rules.edit.id").set_value("Bad-ID")
    at.button(key=[b.key for b in at.button if b.label == "この条件を消す"][1]).click().run()
    next(b for b in at.button if b.label == "ルールを保存").click().run()
    assert "IDは半角の小文字英字で始め" in texts(at.error) and draft_rules(data) is None
    at.text_input(key="rules.edit.id").set_value("resident_high")
    next(b for b in at.button if b.label == "ルールを保存").click().run()
    assert not at.exception
    added = yaml.safe_load(draft_rules(data))["rules"][-1]
    assert added == {"id": "resident_high", "label": "在住 → 高", "policy": "city",    # 根拠: 市の方針 (the default)
                     "when": {"fact": "resident", "op": "=", "value": True},
                     "then": {"priority": "high", "reason": "試験用の理由です。"}}
    assert at.selectbox(key="rules.choice").value == "resident_high"


def test_invalid_raw_yaml_shows_the_line_and_leaves_the_draft_alone(data):
    at = save_raw(open_page(), RULES_TEXT.replace("  - id: multi_field\n", "  - id: multi_field\n   bad: [\n", 1))
    errors = texts(at.error)
    assert "rules.yaml" in errors and "行目" in errors and "YAML の書き方に誤りがあります" in errors
    assert draft_rules(data) is None


def test_unknown_agency_in_raw_yaml_suggests_the_close_one(data):
    at = save_raw(open_page(), RULES_TEXT.replace("[kikan_soudan]", "[kikan_sodan]"))
    assert "もしかして: kikan_soudan" in texts(at.error) and draft_rules(data) is None


def test_raw_yaml_is_saved_as_typed_and_nested_rules_are_sent_back_to_it(data):
    nested = ("\n  # 入れ子の試験\n  - id: nested\n    label: 入れ子\n    when:\n      not:\n        all:\n"
              "          - {fact: resident, op: \"=\", value: true}\n          - any:\n"
              "              - {fact: field_count, op: \">=\", value: 3}\n    then: {priority: high, reason: 試験}\n")
    at = save_raw(open_page(), RULES_TEXT + nested)
    assert draft_rules(data) == RULES_TEXT + nested
    at.selectbox(key="rules.choice").set_value("nested").run()
    assert not at.exception
    assert "上級（YAML）" in texts(at.warning)
    assert not [b for b in at.button if b.label == "ルールを保存"]


def test_a_draft_changed_by_someone_else_is_not_overwritten(data):
    at = open_page()
    with open_repository(data) as repo:
        live_id = ensure_live(repo, DEFAULT_PACK)
        theirs = {**repo.get_version(live_id)["sources"], "rules.yaml": RULES_TEXT + "# 他の職員のメモ\n"}
        save_draft(repo, theirs, live_id, "other", expected=None)
    at.button(key="rules.list.multi_field.toggle").click().run()
    assert not at.exception
    assert "他の人が変更しました" in texts(at.error)
    assert draft_rules(data) == RULES_TEXT + "# 他の職員のメモ\n"
    next(b for b in at.button if b.label == "最新の下書きで作業を続ける").click().run()
    at.button(key="rules.list.multi_field.toggle").click().run()
    text = draft_rules(data)
    assert "# 他の職員のメモ" in text and rule_in(text, "multi_field")["enabled"] is False


def test_moving_deleting_and_opening_a_rule_from_the_list(data):
    at = open_page()
    at.button(key="rules.list.comprehensive_entry.down").click().run()
    assert [r["id"] for r in yaml.safe_load(draft_rules(data))["rules"][:2]] == ["residence_unknown", "comprehensive_entry"]
    assert at.button(key="rules.list.non_resident.delete").disabled
    at.checkbox(key="rules.list.non_resident.sure").check().run()
    at.button(key="rules.list.non_resident.delete").click().run()
    assert "non_resident" not in [r["id"] for r in yaml.safe_load(draft_rules(data))["rules"]]
    assert "ルール「阪南市外に住んでいる場合 → 居住地の市町村へつなぐ」を削除しました。" in texts(at.success)
    at.button(key="rules.list.abuse_urgent.edit").click().run()
    assert not at.exception
    assert at.selectbox(key="rules.choice").value == "abuse_urgent"
    assert at.selectbox(key="rules.edit.priority").value == "urgent"


def test_a_broken_draft_shows_each_issue_and_can_be_repaired_in_the_raw_tab(data):
    at = open_page()
    broken = RULES_TEXT.replace("[kikan_soudan]", "[kikan_sodan]").replace("value: kaigo}", "value: kaig}")
    with open_repository(data) as repo:
        live_id = ensure_live(repo, DEFAULT_PACK)
        save_draft(repo, {**repo.get_version(live_id)["sources"], "rules.yaml": broken}, live_id, "other", expected=None)
    at = open_page()
    errors = [e.value for e in at.error]
    assert any("kikan_sodan" in e and "もしかして: kikan_soudan" in e for e in errors)
    assert any("「kaig」" in e and "行目" in e for e in errors)
    assert not [s for s in at.selectbox if s.label == "編集するルール"]
    at = save_raw(at, RULES_TEXT)
    assert draft_rules(data) == RULES_TEXT and not at.error


def test_builder_reloads_a_rule_changed_elsewhere_instead_of_undoing_it(data):
    at = open_page()
    at.selectbox(key="rules.choice").set_value("multi_field").run()
    at.button(key="rules.list.multi_field.toggle").click().run()
    assert "読み込み直しました" in texts(at.info)
    next(n for n in at.number_input if n.label == "値").set_value(1).run()
    next(b for b in at.button if b.label == "ルールを保存").click().run()
    assert not at.exception
    saved = rule_in(draft_rules(data), "multi_field")
    assert saved["enabled"] is False and saved["when"]["all"][1]["value"] == 1


def test_a_change_to_another_file_meanwhile_is_kept_not_refused(data):
    at = open_page()
    with open_repository(data) as repo:
        live_id = ensure_live(repo, DEFAULT_PACK)
        sources = repo.get_version(live_id)["sources"]
        theirs = {**sources, "vocabularies.yaml": sources["vocabularies.yaml"] + "# 語彙のメモ\n"}
        save_draft(repo, theirs, live_id, "other", expected=None)
    at.button(key="rules.list.abuse_urgent.toggle").click().run()
    assert not at.exception and not at.error
    with open_repository(data) as repo:
        stored = repo.get_meta("config.draft")["sources"]
    assert stored["vocabularies.yaml"].endswith("# 語彙のメモ\n")
    assert rule_in(stored["rules.yaml"], "abuse_urgent") == {**rule("abuse_urgent"), "enabled": False}
