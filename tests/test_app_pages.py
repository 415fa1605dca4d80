"""AppTest flows for 相談受付 and ケース詳細, including their error paths."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.casework.cases import take_intake
from engine.pack import load_pack
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CASE_8050 = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
             "person": {"name": "架空 花子", "age": 82, "concerns": ["care_need"]},
             "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"], "consent": "yes"}]}




def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=10)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def fill_8050(at: AppTest) -> None:
    at.radio(key="intake.resident").set_value("はい").run()
    at.selectbox(key="intake.channel").set_value("self")
    at.selectbox(key="intake.area").set_value("area2")
    at.selectbox(key="intake.person.consent").set_value("yes")
    at.number_input(key="intake.person.age").set_value(82)
    at.multiselect(key="intake.person.concerns").set_value(["care_need"])
    button(at, "＋ 世帯員を追加").click().run()
    row = next(s.key for s in at.selectbox if ".household." in s.key)
    at.selectbox(key=row).set_value("eldest_son")
    at.number_input(key=row.replace("relation", "age")).set_value(52)
    at.multiselect(key=row.replace("relation", "concerns")).set_value(["withdrawal"])
    at.selectbox(key=row.replace("relation", "consent")).set_value("yes")      # consent is asked per person
    at.run()


def test_intake_routes_saves_and_explains(data):
    at = app().run()
    fill_8050(at)
    button(at, "受け付けて振り分ける").click().run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "多機関協働事業" in text and "重層的支援会議" in text and "2分野以上" in text
    assert "提案: 参加支援事業（重層的支援会議で利用の適否を協議）" in text 
    captions = " ".join(c.value for c in at.caption).replace("\\", "")   # markdown escapes (ui/plain.md)
    assert "市の方針（変更できます）" in captions and "出典: 『" in captions
    with open_repository(data) as repo:
        cases = repo.list_cases()
    assert len(cases) == 1 and cases[0]["intake"]["household"][0]["relation"] == "eldest_son"
    assert at.success[0].value.startswith(f"ケース {cases[0]['id']}")


def test_area_appears_only_for_residents(data):
    at = app().run()
    assert "intake.area" not in [s.key for s in at.selectbox]
    at.radio(key="intake.resident").set_value("はい").run()
    assert "intake.area" in [s.key for s in at.selectbox]


def test_missing_required_fields_are_named_and_nothing_is_lost(data):
    at = app().run()
    at.radio(key="intake.resident").set_value("はい").run()
    at.number_input(key="intake.person.age").set_value(40).run()
    button(at, "受け付けて振り分ける").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "「相談経路」は必須です" in errors and "「相談内容」は必須です" in errors
    assert at.number_input(key="intake.person.age").value == 40
    with open_repository(data) as repo:
        assert repo.count_cases() == 0


def test_an_empty_form_names_every_problem_at_once_in_japanese_and_a_fix_clears_its_message(data):
    at = app().run()
    button(at, "受け付けて振り分ける").click().run()
    errors = " ".join(e.value for e in at.error)
    for label in ("相談経路", "阪南市在住", "本人同意（関係機関での情報共有）", "年齢", "相談内容"):
        assert f"「{label}」は必須です" in errors, errors
    assert "channel" not in errors and "person." not in errors          # labels, never keys
    at.selectbox(key="intake.channel").set_value("self").run()          # fixed: its message goes, no resubmit
    errors = " ".join(e.value for e in at.error)
    assert "「相談経路」は必須です" not in errors and "「年齢」は必須です" in errors
    at.radio(key="intake.resident").set_value("はい").run()              # 圏域 appears, and is asked for at once
    assert "「日常生活圏域」は必須です" in " ".join(e.value for e in at.error)
    at.number_input(key="intake.person.age").set_value(200).run()
    errors = " ".join(e.value for e in at.error)
    assert "「年齢」は 0〜120 の範囲で入力してください（入力: 200）" in errors and "「年齢」は必須です" not in errors
    assert "range" not in errors
    with open_repository(data) as repo:
        assert repo.count_cases() == 0


def test_urgent_case_is_unmistakable(data):
    at = app().run()
    at.radio(key="intake.resident").set_value("はい").run()
    at.selectbox(key="intake.channel").set_value("neighbour")
    at.selectbox(key="intake.area").set_value("area3")
    at.selectbox(key="intake.person.consent").set_value("no")
    at.number_input(key="intake.person.age").set_value(80)
    at.multiselect(key="intake.person.concerns").set_value(["abuse"]).run()
    button(at, "受け付けて振り分ける").click().run()
    assert any("緊急" in e.value for e in at.error)


def open_case(case_id: str) -> AppTest:
    at = app()
    at.session_state["case_id"] = case_id
    return at.switch_page("views/consult/case.py").run()


def test_case_page_changes_status_and_refuses_a_stale_save(data):
    pack = load_pack()
    with open_repository(data) as repo:
        case, _ = take_intake(repo, pack, CASE_8050)
    at = open_case(case["id"])
    assert not at.exception
    next(s for s in at.selectbox if s.label == "次の状態").set_value("assessment").run()
    # Another staff member saves the same case meanwhile.
    with open_repository(data) as repo:
        other = repo.get_case(case["id"])
        repo.save_case(other, expected_revision=other["revision"])
    button(at, "状態を変更する").click().run()
    assert any("他の職員が先に保存しました" in e.value for e in at.error)
    at = open_case(case["id"])
    next(s for s in at.selectbox if s.label == "次の状態").set_value("assessment").run()
    button(at, "状態を変更する").click().run()
    assert at.success[0].value == "状態を「アセスメント」に変更しました。"


def test_plan_form_errors_show_next_to_fields(data):
    pack = load_pack()
    with open_repository(data) as repo:
        case, _ = take_intake(repo, pack, CASE_8050)
    at = open_case(case["id"])
    button(at, "支援プランを保存する").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "「支援の目標」は必須です" in errors
    with open_repository(data) as repo:
        assert "plan" not in repo.get_case(case["id"])


def test_old_case_with_deleted_agency_and_removed_field_still_shows(data):
    pack = load_pack()
    with open_repository(data) as repo:
        case, _ = take_intake(repo, pack, CASE_8050)
        case["intake"]["old_field"] = "旧フォームの値"
        case["decision"]["agencies"].append({"id": "closed_agency", "name": "閉所した機関"})
        repo.save_case(case)
    at = open_case(case["id"])
    assert not at.exception
    text = " ".join(m.value for m in [*at.markdown, *at.text])     # staff-typed values are st.text
    assert "旧フォームの値" in text and "閉所した機関" in text


def test_unknown_case_and_empty_store(data):
    at = open_case("C19990101-000000")
    assert not at.exception
    assert at.error[0].value == "このケースは見つからないか、見る権限がありません。ケース一覧から開き直してください。"
    at = app().switch_page("views/consult/cases.py").run()
    assert not at.exception and at.info


def test_roster_shows_every_agency_from_the_yaml(data):
    at = app().switch_page("views/directory/roster.py").run()
    assert not at.exception
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    for agency in load_pack().agencies:
        if agency.get("program"):
            assert agency.label in shown
    assert "CSW（第4圏域担当）" in shown and "校区12" in shown


def test_resources_filter_by_need_and_area(data):
    at = app().switch_page("views/directory/resources.py").run()
    assert not at.exception
    everything = len(load_pack().resources)
    assert at.markdown[0].value == f"{everything} 件" or f"{everything} 件" in [m.value for m in at.markdown]
    at.multiselect[0].set_value(["childcare"]).run()
    counts = [m.value for m in at.markdown if m.value.endswith(" 件")]
    assert counts == ["3 件"]
    assert any("出張ひろば" in m.value for m in at.markdown)


def test_non_resident_intake_saves_without_the_hidden_area(data):
    at = app().run()
    at.radio(key="intake.resident").set_value("いいえ").run()
    at.selectbox(key="intake.channel").set_value("self")
    at.selectbox(key="intake.person.consent").set_value("yes")
    at.number_input(key="intake.person.age").set_value(45)
    at.multiselect(key="intake.person.concerns").set_value(["debt"]).run()
    button(at, "受け付けて振り分ける").click().run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "居住地の市町村" in text


def test_correcting_an_intake_needs_a_reason_leaves_a_timeline_event_and_offers_a_redecision(data):
    pack = load_pack()
    with open_repository(data) as repo:
        case, _ = take_intake(repo, pack, CASE_8050)
    at = open_case(case["id"])
    at.toggle(key=f"case.{case['id']}.correcting").set_value(True).run()
    age = f"correct.{case['id']}.person.age"
    assert at.number_input(key=age).value == 82                       # the stored intake, ready to correct
    at.number_input(key=age).set_value(None).run()
    button(at, "訂正を保存する").click().run()
    assert "「年齢」は必須です" in " ".join(e.value for e in at.error)  # validated like a new intake
    at.number_input(key=age).set_value(28).run()
    button(at, "訂正を保存する").click().run()
    assert any("訂正の理由を書いてください" in e.value for e in at.error)
    at.text_input(key=f"case.{case['id']}.correct_reason").input("年齢の聞き違い").run()
    button(at, "訂正を保存する").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("受付内容を訂正しました")
    with open_repository(data) as repo:
        stored = repo.get_case(case["id"])
        events = repo.events(case["id"])
    assert stored["intake"]["person"]["age"] == 28 and stored["decision"] == case["decision"]
    assert events[-1]["type"] == "intake_corrected" and events[-1]["reason"] == "年齢の聞き違い"
    assert events[-1]["changed"] == ["相談対象者（本人）"]
    button(at, "訂正した内容で再判定する").click().run()
    assert at.success[0].value.startswith("再判定しました")
    with open_repository(data) as repo:
        assert repo.events(case["id"])[-1]["type"] == "redecided"
