"""End to end in a real browser, for the 設定 and 研修 pages (issues 4 and 5).

1. An administrator lowers the 多機関協働事業 threshold from 2 分野 to 1 in the structured rule
   editor, walks the publish gate (scenarios, impact on ~60 fictional demo cases, publish), sees a
   single-分野 case go to 多機関協働事業, then rolls back to the initial version and sees the old
   routing again.
2. 研修 > 全体図 draws the graphviz diagram with the five programs.

The app runs as ``streamlit run ui/app.py`` on a loopback port with its own data folder;
Playwright drives Debian's Chromium. Screenshots land in tests/artifacts/e2e/ (git-ignored) as
3N_*.png. Every person in here is fictional.
"""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e_support import (
    ARTIFACTS,
    STEP_TIMEOUT_MS,
    add_account,
    choose,
    click_button,
    log_in,
    no_exception,
    route_single_field_case,
    running_app,
    screenshot,
    settle,
    sidebar_link,
)

RULE = "multi_field"
RULE_LABEL = "2分野以上 → 多機関協働事業（市の方針）"
PROGRAMS = ("包括的相談支援事業", "参加支援事業", "地域づくり事業", "多機関協働事業", "アウトリーチ等を通じた継続的支援事業")
ACCEPT = "このシナリオの期待を新しい結果にする（変更が意図どおりの場合）"
DEMO_CASES = 60


@pytest.fixture
def data_dir(tmp_path):
    """A data folder with an administrator and fictional demo cases routed under the bundled pack."""
    from engine.casework.demo import mark_store, save_demo
    from engine.pack import load_pack
    from storage import open_repository
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    add_account(data, "e2e_admin", ["admin"])
    with open_repository(data) as repo:
        mark_store(repo, "demo")
        assert save_demo(repo, load_pack(), DEMO_CASES) == DEMO_CASES
    return data


@pytest.fixture
def app_url(data_dir, tmp_path):
    with running_app(data_dir, tmp_path / "streamlit.log") as url:
        yield url


# -- helpers local to these tests ----------------------------------------------------------
def open_page(page, link: str, heading: str) -> None:
    """Follow the sidebar link ``link``; wait for the page's title ``heading`` (設定 > 公開 is 「設定の公開」).

    Right after logging in the sidebar may not be drawn yet, and ``sidebar_link`` unfolds the
    「View N more」 list only if it is there when called: so ask again until the link shows.
    """
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    target = sidebar_link(page, link)
    while not target.count():
        if time.monotonic() > deadline:
            raise AssertionError(f"no sidebar link 「{link}」: {page.get_by_test_id('stSidebarNav').all_inner_texts()}")
        page.wait_for_timeout(200)
        target = sidebar_link(page, link)
    target.click()
    settle(page)
    expect(page.get_by_test_id("stMain").get_by_role("heading", name=heading, exact=True).first).to_be_visible()


def fill_text(page, label: str, text: str) -> None:
    """A text input or text area: type, then commit (Enter for an input, Ctrl+Enter for an area)."""
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Control+Enter" if field.evaluate("e => e.tagName") == "TEXTAREA" else "Enter")
    settle(page)


def programs_column(page):
    """The 「事業」 column of the routing result."""
    return page.get_by_test_id("stColumn").filter(has=page.get_by_role("heading", name="事業", exact=True))


def expected_impact(data_dir):
    """What the engine says the draft changes, computed here on the same data the app uses."""
    from engine.changes.impact import preview
    from engine.changes.versions import DRAFT_KEY, history, pack_of
    from engine.pack import load_sources
    from storage import open_repository
    with open_repository(data_dir) as repo:
        live = pack_of(repo, next(v.id for v in history(repo) if v.live))
        draft = load_sources(repo.get_meta(DRAFT_KEY)["sources"], "下書き")
        return repo.read_cases(lambda cases: preview(cases, live, draft))


# -- test 1 (issue 4) ------------------------------------------------------------------------
def test_lower_multi_agency_threshold_publish_and_roll_back(page, app_url, data_dir):
    log_in(page, app_url, "e2e_admin")
    main = page.get_by_test_id("stMain")

    # 1. 設定 > ルール > 「ルールを編集・追加」: the multi_field rule, its 世帯の分野の数 row from 2 to 1.
    open_page(page, "ルール", "ルール")
    page.get_by_role("tab", name="ルールを編集・追加", exact=True).click()
    settle(page)
    choose(page, "編集するルール", f". {RULE_LABEL}", exact=False)          # 「N. 名前」: no id outside 上級
    main.get_by_text("上級（YAML）: ルールの内部名", exact=True).click()
    settle(page)
    expect(page.get_by_label("ルールID（半角の小文字英字・数字・_）", exact=True)).to_have_value(RULE)
    fact = page.locator("input[role='combobox'][value='世帯の分野の数']")
    expect(fact).to_have_count(1)
    value = page.get_by_role("spinbutton", name="値", exact=True)
    row = (page.get_by_test_id("stVerticalBlock").filter(has=fact).filter(has=value).last
           .get_by_role("spinbutton", name="値", exact=True))
    expect(row).to_have_value("2")
    row.fill("1")
    row.press("Enter")
    settle(page)
    expect(row).to_have_value("1")
    expect(main.get_by_text(re.compile(r"このルールを文にすると: .*1"))).to_be_visible()
    click_button(page, "ルールを保存")
    expect(main.get_by_text(f"ルール「{RULE_LABEL}」を変更しました（下書き）。", exact=True)).to_be_visible()
    expect(main.get_by_text(re.compile("下書きを編集中です"))).to_be_visible()
    expect(main.get_by_text(re.compile("世帯の分野の数が1以上なら")).first).to_be_visible()   # the rule, as a sentence
    no_exception(page)
    screenshot(page, "30_rule_threshold_saved")

    # 2. 設定 > 公開: scenarios fail under the draft; accept the new results.
    open_page(page, "公開", "設定の公開")
    expect(main.get_by_text("下書きの設定は正しく読み込めます。", exact=True)).to_be_visible()
    failed = page.get_by_test_id("stMetric").filter(has_text="失敗")
    expect(failed).to_contain_text(re.compile(r"[1-9]\d* 件"))
    n_failed = int(re.search(r"(\d+) 件", failed.inner_text()).group(1))
    screenshot(page, "31_publish_scenarios_fail")
    # One scenario at a time: each shows its 期待 (before) and 結果 (after) above its own button.
    expect(page.get_by_role("button", name=ACCEPT, exact=True)).to_have_count(n_failed)
    for left in range(n_failed, 0, -1):
        expect(failed).to_contain_text(f"{left} 件")
        page.get_by_role("button", name=ACCEPT, exact=True).first.click()
        settle(page)
        expect(main.get_by_text(re.compile(r"^シナリオ「.+」の期待を、下書きでの新しい結果に更新しました。$"))).to_be_visible()
    expect(failed).to_contain_text("0 件")
    expect(page.get_by_role("button", name=ACCEPT, exact=True)).to_have_count(0)

    # 3. 影響: the list names the demo cases the engine says would change.
    impact = expected_impact(data_dir)
    assert impact.evaluated == DEMO_CASES and impact.changed and not impact.errors, impact.to_json()
    changed_ids = [c["case_id"] for c in impact.changed]
    click_button(page, "影響を確かめる")
    expect(main.get_by_text(f"{DEMO_CASES} 件中 {len(changed_ids)} 件の振り分けが変わります。", exact=True)).to_be_visible()
    table = page.get_by_test_id("stDataFrame").filter(has_text="ケース番号")
    expect(table).to_be_visible()
    expect(table).to_contain_text("多機関協働事業")
    shown = table.text_content() or ""
    named = [c for c in changed_ids if c in shown]
    assert named, f"the impact table names none of {changed_ids}:\n{shown}"
    # Only cases the engine says change (the grid draws the rows in view, so not necessarily all).
    assert set(re.findall(r"C\d{8}-[0-9a-f]{6}", shown)) <= set(changed_ids), shown
    no_exception(page)
    screenshot(page, "32_publish_impact")

    # 4. 公開.
    expect(main.get_by_text(re.compile(r"^公開する人: e2e_admin（架空）$"))).to_be_visible()   # the login, not typed
    fill_text(page, "公開の理由", "1分野でも多機関協働事業につなぐ試行（E2E試験）")
    expect(page.get_by_role("button", name="公開する", exact=True)).to_be_enabled()
    click_button(page, "公開する")
    published = main.get_by_text(re.compile(r"第2版 \d+年\d+月\d+日 を公開しました。"))
    expect(published).to_be_visible()
    expect(main.get_by_text(re.compile("公開する下書きはありません"))).to_be_visible()
    no_exception(page)
    screenshot(page, "33_published")

    # 5. 相談受付: a single-分野 case now goes to 多機関協働事業.
    open_page(page, "相談受付", "相談受付")
    first_case = route_single_field_case(page)
    expect(programs_column(page).get_by_text("包括的相談支援事業", exact=True)).to_be_visible()
    expect(programs_column(page).get_by_text("多機関協働事業", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stExpander").filter(has_text="なぜこの振り分けか")).to_contain_text(RULE_LABEL)
    screenshot(page, "34_single_field_routed_to_multi_agency")

    # 6. 設定 > 履歴: back to the initial version (kind 初期), with a reason.
    open_page(page, "履歴", "設定の履歴")
    versions = page.get_by_test_id("stDataFrame").first
    expect(versions).to_contain_text("初期")
    expect(versions).to_contain_text("公開")
    choose(page, "版を選ぶ", "初期", exact=False)
    expect(main.get_by_text("最初の版です。比べる前の版はありません。", exact=True)).to_be_visible()
    fill_text(page, "戻す理由", "試行を終え、2分野以上の基準に戻す（E2E試験）")
    click_button(page, "この版に戻す")
    rolled = main.get_by_text("選んだ版の内容に戻しました。その内容の新しい版が公開中です（下に表示しています）。", exact=True)
    expect(rolled).to_be_visible()
    expect(main.get_by_test_id("stHtml").get_by_text(re.compile(r"^第3版 \d+年\d+月\d+日 e2e_admin（架空）$"))).to_be_visible()   # its label, as text
    expect(main.get_by_text("この版が公開中です。", exact=True)).to_be_visible()
    expect(versions).to_contain_text("ロールバック")
    no_exception(page)
    screenshot(page, "35_rolled_back")

    # 7. 相談受付 again: the same single-分野 case no longer goes to 多機関協働事業.
    open_page(page, "相談受付", "相談受付")
    expect(main.get_by_text(f"ケース {first_case} を保存しました。")).to_be_visible()      # then: 下は推薦です…
    click_button(page, "次の相談を受け付ける")
    second_case = route_single_field_case(page)
    assert second_case != first_case
    expect(programs_column(page).get_by_text("包括的相談支援事業", exact=True)).to_be_visible()
    expect(programs_column(page).get_by_text("多機関協働事業", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("stExpander").filter(has_text="なぜこの振り分けか")).not_to_contain_text(RULE_LABEL)
    screenshot(page, "36_single_field_after_rollback")


# -- test 2 (issue 5) ------------------------------------------------------------------------
def test_training_overview_draws_the_diagram(page, app_url):
    log_in(page, app_url, "e2e_admin")
    open_page(page, "全体図", "全体図")
    svg = page.locator("[data-testid='stGraphVizChart'] svg").first
    expect(svg).to_be_visible()
    text = re.sub(r"\s+", "", svg.text_content() or "")
    missing = [name for name in PROGRAMS if name not in text]
    assert not missing, f"the diagram lacks {missing}: {text[:500]}"
    for name in PROGRAMS:   # drawn as real SVG text (a label may wrap, so by its start)
        assert page.locator("[data-testid='stGraphVizChart'] svg text").filter(has_text=name[:6]).count() >= 1, name
    no_exception(page)
    screenshot(page, "37_training_overview")
