"""AppTest flows for the 設定 editors: フォーム, 会議の設定, 名簿の設定, 語彙.

Every change goes to the draft (never the live version), keeps the YAML comments, and is
refused with the Japanese message when the whole draft would not load.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.casework.cases import take_intake
from engine.changes.versions import get_draft, live_pack, publish
from engine.pack import DEFAULT_PACK, load_pack, load_sources
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CASE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
        "person": {"name": "架空 花子", "age": 82, "concerns": ["care_need"]}, "household": [],
        "summary": "架空の相談: 介護のことを相談したい。"}




def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10).run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def draft_sources(data) -> dict | None:
    with open_repository(data) as repo:
        draft = get_draft(repo)
    return draft and draft["sources"]


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def warnings(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


# -- フォーム ------------------------------------------------------------------------
def test_relabel_goes_to_the_draft_keeping_comments_and_live_is_unchanged(data):
    at = open_page("views/settings/forms.py")
    at.selectbox(key="forms.intake.field").set_value("person.consent").run()
    at.text_input(key="forms.intake.person.consent.label").set_value("本人の同意（情報共有）").run()
    at.button(key="forms.intake.person.consent.save").click().run()
    assert not at.exception
    assert any("変更しました" in s.value for s in at.success)
    text = draft_sources(data)["forms/intake.yaml"]
    assert "label: 本人の同意（情報共有）" in text
    assert text.startswith("# 相談受付票。") and "# show_if: 表示する条件" in text
    with open_repository(data) as repo:
        person = live_pack(repo, DEFAULT_PACK).intake.field("person")
        assert next(f for f in person.fields if f.id == "consent").label == "本人同意（関係機関での情報共有）"


def test_add_a_field(data):
    at = open_page("views/settings/forms.py")
    at.text_input(key="forms.intake.add.id").set_value("visit_count")
    at.text_input(key="forms.intake.add.label").set_value("訪問回数")
    at.selectbox(key="forms.intake.add.type").set_value("integer").run()
    at.number_input(key="forms.intake.add.min").set_value(0).run()
    at.button(key="forms.intake.add.save").click().run()
    assert not at.exception and not at.error
    field = load_sources(draft_sources(data)).intake.field("visit_count")
    assert field.label == "訪問回数" and field.type == "integer" and field.min == 0


def test_bad_new_id_is_explained_and_nothing_saved(data):
    at = open_page("views/settings/forms.py")
    at.text_input(key="forms.intake.add.id").set_value("訪問")
    at.text_input(key="forms.intake.add.label").set_value("訪問").run()
    at.button(key="forms.intake.add.save").click().run()
    assert "半角英小文字" in errors(at) and draft_sources(data) is None


def test_removing_a_field_a_rule_uses_is_blocked_with_the_notice(data):
    at = open_page("views/settings/forms.py")
    at.selectbox(key="forms.intake.field").set_value("person.consent").run()
    assert at.button(key="forms.intake.person.consent.remove").disabled     # AppTest, like a browser, cannot click it
    assert "振り分けルール「複雑化・複合化・同意のある人 → 重層的支援会議」" in warnings(at) and "先にルールを直してください" in warnings(at)
    assert draft_sources(data) is None


def test_removed_field_keeps_its_value_on_the_case_page(data):
    pack = load_pack()
    with open_repository(data) as repo:
        stored, _ = take_intake(repo, pack, CASE)
    assert "summary" not in " ".join(str(r) for r in pack.rules)      # no rule reads it
    at = open_page("views/settings/forms.py")
    at.selectbox(key="forms.intake.field").set_value("summary").run()
    assert "この項目は 1 件のケースに値があります" in " ".join(i.value for i in at.info)
    at.button(key="forms.intake.summary.remove").click().run()
    assert not at.exception and not at.error
    with open_repository(data) as repo:
        draft = get_draft(repo)
        assert "id: summary" not in draft["sources"]["forms/intake.yaml"]
        publish(repo, draft["sources"], "試験", "項目の削除", draft["base"])
        assert live_pack(repo, DEFAULT_PACK).intake.field("summary") is None
    at = AppTest.from_file(APP, default_timeout=10).run()
    at.session_state["case_id"] = stored["id"]
    at.switch_page("views/consult/case.py").run()
    assert not at.exception
    shown = [m.value for m in at.markdown] + [t.value for t in at.text]     # staff text is shown as text
    assert any("summary（現在のフォームにない項目）" in m for m in shown)
    assert CASE["summary"] in shown


# -- 会議の設定 ------------------------------------------------------------------------
def test_nonsense_cadence_is_refused_and_nothing_saved(data):
    at = open_page("views/settings/meetings.py")
    at.selectbox(key="settings_meetings.meeting").set_value("juso_kaigi").run()
    at.selectbox(key="settings_meetings.juso_kaigi.kind").set_value("bimonthly").run()
    at.number_input(key="settings_meetings.juso_kaigi.per_year").set_value(12).run()
    at.button(key="settings_meetings.juso_kaigi.save").click().run()
    assert not at.exception
    assert "2か月ごとの会議は年6回までです（per_year: 12）" in errors(at) and "meetings.yaml" in errors(at)
    assert draft_sources(data) is None


def test_meeting_change_is_saved(data):
    at = open_page("views/settings/meetings.py")
    at.selectbox(key="settings_meetings.meeting").set_value("juso_kaigi").run()
    at.selectbox(key="settings_meetings.juso_kaigi.weekday").set_value("friday").run()
    at.button(key="settings_meetings.juso_kaigi.save").click().run()
    assert not at.exception and not at.error
    text = draft_sources(data)["meetings.yaml"]
    assert "cadence: {kind: monthly, per_year: 12, weekday: friday, week: 3, placeholder: true}" in text
    assert "# 社会福祉法 第106条の6" in text


# -- 語彙・名簿 ---------------------------------------------------------------------------
def test_relabel_a_concern(data):
    at = open_page("views/settings/vocab.py")
    at.selectbox(key="settings_vocab.list").set_value("concerns").run()
    at.selectbox(key="settings_vocab.concerns.item").set_value("withdrawal").run()
    at.text_input(key="settings_vocab.concerns.withdrawal.label").set_value("ひきこもり（長期）").run()
    at.button(key="settings_vocab.concerns.withdrawal.save").click().run()
    assert not at.exception and not at.error
    sources = draft_sources(data)
    assert "{id: withdrawal, label: ひきこもり（長期）, field: hikikomori}" in sources["vocabularies.yaml"]
    assert "# 相談の内容。" in sources["vocabularies.yaml"]
    assert load_sources(sources).label("concerns", "withdrawal") == "ひきこもり（長期）"


def test_removing_a_used_concern_is_blocked(data):
    at = open_page("views/settings/vocab.py")
    at.selectbox(key="settings_vocab.list").set_value("concerns").run()
    at.selectbox(key="settings_vocab.concerns.item").set_value("abuse").run()
    assert at.button(key="settings_vocab.concerns.abuse.remove").disabled
    assert "振り分けルール: 「虐待の疑い → 緊急」" in warnings(at)


def test_add_an_agency(data):
    at = open_page("views/settings/roster.py")
    at.text_input(key="settings_roster.new.id").set_value("homon_kango")
    at.text_input(key="settings_roster.new.label").set_value("訪問看護ステーション（試験）")
    at.text_input(key="settings_roster.new.kind").set_value("homon_kango")
    at.selectbox(key="settings_roster.new.operation").set_value("external")
    at.multiselect(key="settings_roster.new.areas").set_value(["area1", "area2"])
    at.text_area(key="settings_roster.new.functions").set_value("訪問看護\n服薬の管理").run()
    at.button(key="settings_roster.new.save").click().run()
    assert not at.exception and not at.error
    sources = draft_sources(data)
    assert "# 支援機関。kind はルールが" in sources["roster.yaml"]
    agency = next(a for a in load_sources(sources).agencies if a.id == "homon_kango")
    assert agency.label == "訪問看護ステーション（試験）" and list(agency.get("areas")) == ["area1", "area2"]
    assert list(agency.get("functions")) == ["訪問看護", "服薬の管理"]


def test_an_agency_a_meeting_names_cannot_be_removed(data):
    at = open_page("views/settings/roster.py")
    at.selectbox(key="settings_roster.agency").set_value("kurashi_marugoto").run()
    assert at.button(key="settings_roster.kurashi_marugoto.remove").disabled
    assert "会議の構成機関" in warnings(at) and "重層的支援会議" in warnings(at)
