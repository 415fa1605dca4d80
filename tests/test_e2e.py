"""End to end in a real browser: a staff member takes an 8050 intake, records the 重層的支援会議's
outcome, and finds the case in 支援実施. Playwright drives Debian's Chromium (``make browser-deps``);
the app runs as ``streamlit run ui/app.py`` on a loopback port with its own empty data directory.

Screenshots of each step land in tests/artifacts/e2e/ (git-ignored); the intake result is the one
the README shows (docs/screenshot-intake.png). Every person in here is fictional.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e_support import (
    ARTIFACTS,
    STEP_TIMEOUT_MS,
    add_account,
    choose,
    choose_radio,
    click_button,
    combobox,
    date_value,
    go_to,
    log_in,
    nav_links,
    no_exception,
    open_app,
    open_list,
    option,
    pick,
    running_app,
    screenshot,
    settle,
    type_number,
)


@pytest.fixture
def app_url(tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    add_account(tmp_path / "data", "e2e_admin", ["admin"])
    with running_app(tmp_path / "data", tmp_path / "streamlit.log") as url:
        yield url


def test_8050_intake_meeting_outcome_and_case_status(page, app_url):
    # 1. 相談受付, the default page.
    open_app(page, app_url)
    expect(page.get_by_role("heading", name="相談受付", exact=True)).to_be_visible()
    screenshot(page, "01_intake_empty")

    # 2. An 8050 household with consent: the mother (82) needs care, the eldest son (52) stays at home.
    choose_radio(page, "阪南市在住（必須）", "はい")
    choose(page, "相談経路（必須）", "本人")
    choose(page, "日常生活圏域（必須）", "第2圏域")
    choose(page, "本人同意（関係機関での情報共有）（必須）", "同意あり")
    type_number(page, "年齢（必須）", 82)
    choose(page, "相談内容（必須）", "介護が必要")
    click_button(page, "＋ 世帯員を追加")
    expect(page.get_by_text("世帯員 1", exact=True)).to_be_visible()
    choose(page, "続柄（必須）", "長男")
    type_number(page, "年齢", 52)
    choose(page, "困りごと", "ひきこもり")
    choose(page, "この人の同意", "同意あり")          # consent is asked of each person, the son too
    expect(combobox(page, "相談経路（必須）")).to_have_value("本人")
    expect(page.get_by_role("spinbutton", name="年齢", exact=True)).to_have_value("52")
    no_exception(page)
    screenshot(page, "02_intake_filled")

    # 3. Route it: where it goes, and why.
    click_button(page, "受け付けて振り分ける")
    saved = page.get_by_text(re.compile(r"ケース \S+ を保存しました。"))
    expect(saved).to_be_visible()
    case_id = re.search(r"ケース (\S+) を保存しました。", saved.inner_text()).group(1)
    main = page.get_by_test_id("stMain")
    # The recommendation's lists (the confirm form below names the same items in its pickers).
    expect(main.get_by_role("listitem").get_by_text("多機関協働事業", exact=True)).to_be_visible()
    expect(main.get_by_role("listitem").get_by_text("重層的支援会議", exact=True)).to_be_visible()
    why = page.get_by_test_id("stExpander").filter(has_text="なぜこの振り分けか")
    expect(why).to_contain_text("2分野以上")
    expect(why).to_contain_text("市の方針（変更できます）")
    expect(main.get_by_text("提案: 参加支援事業（重層的支援会議で利用の適否を協議）", exact=True)).to_be_visible()
    no_exception(page)
    screenshot(page, "03_intake_routed")

    # 4. 会議: the new case waits on the 重層的支援会議's agenda.
    go_to(page, "会議")
    choose(page, "会議", "重層的支援会議")
    expect(page.get_by_role("heading", name="議題　重層的支援会議")).to_be_visible()
    screenshot(page, "04_meeting_agenda")
    listbox = open_list(page, "記録するケース")
    expect(option(listbox, case_id, exact=False)).to_have_count(1)
    pick(page, listbox, case_id, exact=False)

    # 5. The 会議記録: 会議 and 開催日 come filled in; the outcome is プラン承認.
    expect(combobox(page, "会議（必須）")).to_have_value("重層的支援会議")
    expect(date_value(page, "開催日（必須）")).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    choose(page, "結果（必須）", "プラン承認")
    no_exception(page)
    screenshot(page, "05_meeting_record")
    click_button(page, "結果を記録する")
    expect(page.get_by_text(f"ケース {case_id} に会議の結果を記録しました。状態: 支援実施")).to_be_visible()
    no_exception(page)
    screenshot(page, "06_meeting_recorded")

    # 6. ケース一覧 → ケースを開く → ケース詳細 in 支援実施.
    go_to(page, "ケース一覧")
    choose(page, "ケースを開く", case_id, exact=False)
    expect(page.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
    expect(main.get_by_text(case_id).first).to_be_visible()
    expect(main.get_by_text(re.compile(r"状態: 支援実施"))).to_be_visible()
    no_exception(page)
    screenshot(page, "07_case_in_support")
    page.get_by_role("tab", name="経過", exact=True).click()
    expect(main.get_by_text(re.compile(r"会議の記録: 重層的支援会議 .* プラン承認"))).to_be_visible()
    screenshot(page, "08_case_timeline")


def test_meetings_calendar_and_every_page_opens_on_an_empty_store(page, app_url, tmp_path):
    open_app(page, app_url)
    go_to(page, "会議")
    expect(page.get_by_role("heading", name="開催予定（今後12か月）")).to_be_visible()
    calendar = page.get_by_test_id("stDataFrame").first
    expect(calendar).to_be_visible()
    expect(calendar).to_contain_text("重層的支援会議")
    ical = page.get_by_test_id("stDownloadButton").get_by_role("button", name="カレンダーに取り込む（iCal）")
    expect(ical).to_be_visible()
    with page.expect_download() as download:
        ical.click()
    assert download.value.suggested_filename == "tsunagu-meetings.ics"
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("BEGIN:VCALENDAR") and "重層的支援会議" in text
    no_exception(page)
    screenshot(page, "10_meetings_calendar")

    count = nav_links(page).count()
    assert count >= 5, nav_links(page).all_inner_texts()
    for i in range(count):
        link = nav_links(page).nth(i)
        title = link.inner_text().split()[-1]       # the link text starts with the page's icon
        link.click()
        settle(page)
        expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
        no_exception(page)
        screenshot(page, f"{11 + i}_page_{title}")
    log = (tmp_path / "streamlit.log").read_text(encoding="utf-8", errors="replace")
    warned = [line for line in log.splitlines() if re.search(r"deprecat|will be removed|Please replace", line, re.I)]
    assert warned == [], log                              # the server log stays free of deprecation warnings


def test_unauthenticated_visitor_sees_only_login_and_staff_cannot_open_another_agencys_case(browser, tmp_path):
    from engine.casework.cases import take_intake
    from engine.pack import load_pack
    from storage import open_repository
    data = tmp_path / "data"
    add_account(data, "houkatsu_staff", ["agency_staff"], agency="houkatsu_a")
    with open_repository(data) as repo:
        other, _ = take_intake(repo, load_pack(), {
            "received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area3", "consent": "yes",
            "receiving_agency": "jiritsu_soudan", "person": {"name": "架空 次郎", "age": 40, "concerns": ["debt"]}})
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    try:
        with running_app(data, tmp_path / "streamlit.log") as url:
            # Each URL load is a new session: every page answers with the login page alone.
            for path in ("", "/cases", f"/case?id={other['id']}", "/settings_rules", "/audit"):
                page.goto(url.rstrip("/") + path)
                expect(page.get_by_role("heading", name=re.compile("ログイン"))).to_be_visible(timeout=STEP_TIMEOUT_MS)
                page.keyboard.press("Escape")            # Streamlit's "page not found" notice, if any
                assert page.get_by_test_id("stSidebarNav").count() == 0
                assert "架空 次郎" not in page.content()
            screenshot(page, "20_login_only")
            log_in(page, url, "houkatsu_staff")
            go_to(page, "ケース一覧")
            expect(page.get_by_text("まだケースがありません", exact=False)).to_be_visible()
            assert other["id"] not in page.content() and "架空 次郎" not in page.content()
            screenshot(page, "21_other_agency_not_listed")
    finally:
        context.close()
