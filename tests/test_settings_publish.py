"""AppTest flows for 設定 > 公開 and 設定 > 履歴: the checks before publishing, publish, conflicts, rollback."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.casework.demo import mark_store, save_demo
from engine.changes.impact import preview
from engine.changes.scenario_edit import accept_results
from engine.changes.scenarios import run_all
from engine.changes.versions import content_hash, ensure_live, get_draft, history, publish, save_draft, version_label
from engine.pack import DEFAULT_PACK, load_pack, load_sources, read_sources
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
LOWER = ('{fact: field_count, op: ">=", value: 2}', '{fact: field_count, op: ">=", value: 1}')
PUBLISH, HISTORY = "views/settings/publish.py", "views/settings/history.py"


def lowered() -> dict:
    """The bundled pack with the 多機関協働 threshold lowered from 2 分野 to 1 (some scenarios now fail)."""
    sources = read_sources(DEFAULT_PACK)
    sources["rules.yaml"] = sources["rules.yaml"].replace(*LOWER)
    return sources


def accepted() -> dict:
    """``lowered()`` with the failing scenarios' expectations updated: an intended change, ready to publish."""
    sources = lowered()
    return accept_results(sources, run_all(load_sources(sources)))




def test_wording_is_flagged_only_where_a_changed_number_is_quoted():
    from engine.changes.wording import stale_wording
    live = load_pack()
    assert stale_wording(live, live) == []
    flagged = stale_wording(live, load_sources(lowered()))
    assert flagged and all("「2」" in w and "今の条件の値: 1" in w for w in flagged)
    assert any("名前" in w for w in flagged) and any("理由" in w for w in flagged)


def prepare(data: Path, draft: dict | None = None, cases: int = 0) -> str:
    """A store with the bundled pack live, optionally demo cases and a draft; returns the live id."""
    with open_repository(data) as repo:
        base = ensure_live(repo, DEFAULT_PACK)
        if cases:
            mark_store(repo, "demo")
            save_demo(repo, load_pack(), cases)
        if draft is not None:
            save_draft(repo, draft, base, "試験", expected=None)
    return base


def page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=10).run()
    at.switch_page(path).run()
    assert not at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(e.value for e in getattr(at, kind))


def stored(data: Path):
    with open_repository(data) as repo:
        return history(repo), get_draft(repo)


def test_without_a_draft_there_is_nothing_to_publish(data):
    prepare(data)
    at = page(PUBLISH)
    assert "公開中の設定と同じです" in texts(at, "info")
    assert not any(b.label == "公開する" for b in at.button)


def test_an_invalid_draft_lists_its_issues_and_cannot_be_published(data):
    sources = read_sources(DEFAULT_PACK)
    sources["rules.yaml"] = sources["rules.yaml"].replace("kikan_soudan]", "kikan_sodan]")
    prepare(data, sources)
    at = page(PUBLISH)
    errors = texts(at, "error")
    assert "rules.yaml" in errors and "行目" in errors and "もしかして: kikan_soudan" in errors
    assert not any(b.label == "公開する" and not b.disabled for b in at.button)
    assert button(at, "下書きを破棄する").disabled          # not before the confirmation
    at.checkbox[0].check().run()
    button(at, "下書きを破棄する").click().run()
    assert not at.exception
    assert stored(data)[1] is None and "下書きを破棄しました" in texts(at, "success")


def test_a_draft_changed_by_someone_else_meanwhile_is_not_discarded(data):
    prepare(data, accepted())
    at = page(PUBLISH)
    at.checkbox(key="publish.discard_ok").check().run()
    with open_repository(data) as repo:                    # another editor saves the draft meanwhile
        theirs = save_draft(repo, lowered(), get_draft(repo)["base"], "他の職員", expected=get_draft(repo))
    button(at, "下書きを破棄する").click().run()
    assert not at.exception
    assert "他の人が変更しました" in texts(at, "warning") and stored(data)[1] == theirs
    button(at, "下書きを破棄する").click().run()          # now they have seen it: the discard goes ahead
    assert stored(data)[1] is None


def test_a_failing_scenario_blocks_publish_until_its_expectation_is_updated(data):
    base = prepare(data, lowered(), cases=20)
    at = page(PUBLISH)
    assert at.metric[1].label == "失敗" and at.metric[1].value != "0 件"
    assert any("期待" in e.label or "✗" in e.label for e in at.expander)
    # The rule's name still says 「2分野以上」 though its condition now counts 1: flagged.
    assert "ルール「2分野以上 → 多機関協働事業（市の方針）」の名前に「2」とあります" in texts(at, "warning").replace("\\", "")
    button(at, "影響を確かめる").click().run()
    assert button(at, "公開する").disabled and "シナリオが" in texts(at, "warning")
    assert [v.id for v in stored(data)[0]] == [base]

    # One scenario at a time, each with its before (期待) and after (結果) shown above its button.
    n_failed = int(at.metric[1].value.removesuffix(" 件"))
    accept = "このシナリオの期待を新しい結果にする（変更が意図どおりの場合）"
    assert len([b for b in at.button if b.label == accept]) == n_failed
    assert all("期待:" in c.value and "結果:" in c.value for c in at.code[:n_failed])
    for left in range(n_failed, 0, -1):
        assert at.metric[1].value == f"{left} 件"
        next(b for b in at.button if b.label == accept).click().run()
        assert not at.exception and "の期待を、下書きでの新しい結果に更新しました" in texts(at, "success")
    assert at.metric[1].value == "0 件" and not [b for b in at.button if b.label == accept]
    draft = stored(data)[1]
    assert all(r.passed for r in run_all(load_sources(draft["sources"])))
    button(at, "影響を確かめる").click().run()          # the draft changed: its impact is checked again
    assert not button(at, "公開する").disabled


def test_the_impact_preview_lists_the_cases_that_would_change(data):
    prepare(data, accepted(), cases=60)
    at = page(PUBLISH)
    assert "影響を確かめる" in texts(at, "info")
    button(at, "影響を確かめる").click().run()
    assert not at.exception
    with open_repository(data) as repo:
        expected = repo.read_cases(lambda cases: preview(cases, load_pack(), load_sources(accepted())))
    assert expected.changed
    assert f"60 件中 {len(expected.changed)} 件の振り分けが変わります" in texts(at, "markdown")
    counts, changed = at.dataframe[0].value, at.dataframe[1].value
    assert dict(zip(counts["変わった点"], counts["件数"]))["事業: +多機関協働事業"] == len(expected.changed)
    assert list(changed["ケース番号"]) == [c["case_id"] for c in expected.changed]
    assert "多機関協働事業" in changed["変更後"][0] and "多機関協働事業" not in changed["変更前"][0]
    assert "事業: +多機関協働事業" in changed["変わった点"][0]
    assert list(changed.columns)[:2] == ["ケース番号", "変わった点"]        # what changed first, then the whole routing
    # The changed rule is named by its label (escaped as markdown), never by its id.
    assert any("2分野以上" in m.value and "変更" in m.value for m in at.markdown)
    assert not any("multi_field" in m.value for m in at.markdown)


def test_publish_needs_a_reason_then_makes_the_draft_live(data):
    base = prepare(data, accepted(), cases=10)
    at = page(PUBLISH)
    assert button(at, "公開する").disabled                 # the impact is not checked yet
    button(at, "影響を確かめる").click().run()
    assert "公開する人: 試験用の管理者" in [t.value for t in at.text]      # the logged-in user, not typed
    button(at, "公開する").click().run()
    assert not at.exception
    assert "理由が必要" in texts(at, "error")
    assert [v.id for v in stored(data)[0]] == [base]

    at.text_area(key="publish.reason").set_value("多機関協働の対象を1分野からにする")
    button(at, "公開する").click().run()
    assert not at.exception
    versions, draft = stored(data)
    assert len(versions) == 2 and versions[-1].live and versions[-1].reason == "多機関協働の対象を1分野からにする"
    assert versions[-1].parent == base and draft is None
    assert versions[-1].author == "試験用の管理者"
    assert f"{version_label(versions[-1], with_author=False)} を公開しました" in texts(at, "success")
    assert version_label(versions[-1]).startswith("第2版 ") and version_label(versions[-1]).endswith(" 試験用の管理者")
    assert "公開中の設定と同じです" in texts(at, "info")


def test_a_stale_publish_shows_the_conflict_and_overwrites_nothing(data):
    base = prepare(data, accepted())
    at = page(PUBLISH)
    button(at, "影響を確かめる").click().run()
    at.text_area(key="publish.reason").set_value("閾値を下げる")
    with open_repository(data) as repo:                    # someone else publishes meanwhile
        other = {k: v for k, v in lowered().items() if not k.startswith("scenarios/")}
        first = publish(repo, other, "一人目", "先に公開", base)
    button(at, "公開する").click().run()
    assert not at.exception
    assert "もう公開中の版ではありません" in texts(at, "error")
    versions, draft = stored(data)
    assert [v.id for v in versions] == [base, first.id] and versions[-1].live
    assert draft is not None and content_hash(draft["sources"]) == content_hash(accepted())


def save_case_as_scenario(data: Path, case_id: str, title: str, expect_confirmed: bool | None = None):
    """設定 > 公開's 「ケースをシナリオとして保存」 for ``case_id``; returns the page, the new file and the draft."""
    had = (stored(data)[1] or {}).get("sources") or {}
    at = page(PUBLISH)
    assert at.text_input(key="publish.scenario_case").value == "" and button(at, "シナリオとして保存").disabled
    at.session_state["intake.__saved"] = {"id": case_id}     # the case just taken on 相談受付 is offered first
    at.run()
    assert at.text_input(key="publish.scenario_case").value == case_id
    if expect_confirmed is not None:
        at.radio(key="publish.scenario_expect").set_value(expect_confirmed).run()
    at.text_input(key="publish.scenario_name").set_value(title)
    at.text_area(key="publish.scenario_explanation").set_value("デモのケースから作りました。")
    button(at, "シナリオとして保存").click().run()
    assert not at.exception
    sources = stored(data)[1]["sources"]
    [name] = [n for n in sources if n.startswith("scenarios/") and n not in had]
    assert title in sources[name] and "name:" not in sources[name].split("case:")[1].split("expect:")[0]
    return at, name, sources


def scenario_passes(sources: dict, name: str) -> bool:
    return next(r for r in run_all(load_sources(sources)) if r.scenario.file == name).passed


def test_a_stored_case_confirmed_as_recommended_is_saved_as_a_passing_scenario(data):
    from engine.casework.handoff import differences
    prepare(data, read_sources(DEFAULT_PACK), cases=8)
    with open_repository(data) as repo:
        # The demo confirms a few cases with an agency added or removed; take one confirmed as recommended.
        case_id = repo.read_cases(lambda cs: next(c["id"] for c in cs if c.get("confirmed") and not differences(c)))
    at, name, sources = save_case_as_scenario(data, case_id, "受付から保存した事例")
    assert not at.radio and "職員が振り分けを変えています" not in texts(at, "warning")
    assert scenario_passes(sources, name)
    before = len([n for n in read_sources(DEFAULT_PACK) if n.startswith("scenarios/")])
    assert name.startswith(f"scenarios/{before + 1:02d}_") and at.metric[0].value == f"{before + 1} 件"


def test_a_case_whose_routing_staff_changed_says_so_and_lets_staff_choose_the_expectation(data):
    from engine.casework.handoff import confirm_case, recommended
    prepare(data, read_sources(DEFAULT_PACK), cases=3)
    pack = load_pack()
    with open_repository(data) as repo:
        case = repo.read_cases(lambda cs: cs[0])
        chosen = recommended(case)
        extra = next(a for a in pack.ids("agencies") if a not in chosen["agencies"])
        chosen["agencies"].append(extra)
        confirm_case(repo, pack, case["id"], chosen, {f"agencies:{extra}": {"text": "面談で分かった事情から加える"}},
                     "試験", None)
    at, name, sources = save_case_as_scenario(data, case["id"], "確定どおりを期待する事例")
    warning = texts(at, "warning")
    assert f"機関「{pack.label('agencies', extra)}」を加えた" in warning
    assert at.radio(key="publish.scenario_expect").value is True          # what people decided, by default …
    assert extra in sources[name].split("expect:")[1]
    assert not scenario_passes(sources, name)                            # … which the rules do not give yet
    assert at.metric[1].value == "1 件"                                 # and the page counts it as failing

    at, name, sources = save_case_as_scenario(data, case["id"], "今のルールどおりを期待する事例", expect_confirmed=False)
    assert extra not in sources[name].split("expect:")[1]
    assert scenario_passes(sources, name)


def test_history_shows_versions_and_rolls_back_with_a_reason(data):
    base = prepare(data)
    with open_repository(data) as repo:
        published = publish(repo, {k: v for k, v in lowered().items() if not k.startswith("scenarios/")},
                            "試験", "閾値を下げる", base)
    at = page(HISTORY)
    table = at.dataframe[0].value
    assert list(table["版"]) == [version_label(v) for v in reversed(stored(data)[0])] and list(table["公開中"]) == ["●", ""]
    assert list(table["版"])[1].startswith("第1版 ") and list(table["版"])[1].endswith(" 同梱の設定")
    assert list(table["種類"]) == ["公開", "初期"] and "閾値を下げる" in list(table["理由"])
    rule_label = next(r.label for r in load_pack().rules if r.id == "multi_field")
    # the newest version's change, in words (markdown-escaped), by the rule's label, never its id
    assert any(rule_label in m.value.replace("\\", "") and "変更" in m.value for m in at.markdown)
    assert not any("multi_field" in m.value.replace("\\", "") for m in at.markdown)
    assert not any(b.label == "この版に戻す" for b in at.button)

    at.selectbox(key="history.version").set_value(base).run()
    button(at, "この版に戻す").click().run()
    assert not at.exception
    assert "理由" in texts(at, "error") and len(stored(data)[0]) == 2

    at.text_area(key="history.reason").set_value("閾値の変更を取り消す")
    button(at, "この版に戻す").click().run()
    assert not at.exception
    versions = stored(data)[0]
    back = versions[-1]
    assert len(versions) == 3 and back.live and back.kind == "rollback" and back.rolled_back_to == base
    assert back.pack_version == versions[0].pack_version
    assert "選んだ版の内容に戻しました" in texts(at, "success")
    assert "ロールバック" in at.dataframe[0].value["種類"][0]
    assert at.selectbox(key="history.version").value == back.id          # the box shows the new live version


def test_the_scenario_picker_takes_a_case_number_and_reads_no_list_of_cases(data, monkeypatch):
    """「ケースをシナリオとして保存」 asks for the case's number: the page reads no list of every case
    on a rerun (on PostgreSQL that was every body of 100,000 cases each time), and a number that
    names no case says so and saves nothing."""
    from storage.tinydb_store import TinyDBRepository
    prepare(data, lowered(), cases=4)
    with open_repository(data) as repo:
        case_id = repo.read_cases(lambda cs: cs[0]["id"])
    whole_reads: list = []
    for name in ("read_cases", "list_cases"):
        real = getattr(TinyDBRepository, name)
        monkeypatch.setattr(TinyDBRepository, name,
                            lambda self, *a, _real=real, _name=name: whole_reads.append(_name) or _real(self, *a))
    at = page(PUBLISH)
    at.text_input(key="publish.scenario_case").set_value("C20991231-ffffff").run()
    assert "その番号のケースは見つからないか" in texts(at, "error")
    assert button(at, "シナリオとして保存").disabled
    at.text_input(key="publish.scenario_case").set_value(f"  {case_id} ").run()     # spaces from a copy are dropped
    assert not at.exception and "その番号のケースは見つからないか" not in texts(at, "error")
    assert not button(at, "シナリオとして保存").disabled
    assert whole_reads == []
