"""Browser test: a login survives a reload, a new tab and a bookmark; logout ends it everywhere;
a page outside the role answers in Japanese, not with Streamlit's English "Page not found"."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.e2e_support import (
    ARTIFACTS,
    STEP_TIMEOUT_MS,
    add_account,
    log_in,
    running_app,
    screenshot,
    settle,
)

CASE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area3", "consent": "yes",
        "person": {"name": "架空 三郎", "age": 70, "concerns": ["care_need"]}}


def test_a_login_survives_reload_new_tab_and_bookmark_until_logout(browser, tmp_path):
    from engine.casework.cases import take_intake
    from engine.pack import load_pack
    from storage import open_repository
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    add_account(data, "sato", ["welfare_division"])
    with open_repository(data) as repo:
        case, _ = take_intake(repo, load_pack(), CASE)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    try:
        with running_app(data, tmp_path / "streamlit.log") as url:
            base = url.rstrip("/")
            # A bookmarked case: the login page first, then the very case that was asked for.
            page.goto(f"{base}/case?id={case['id']}")
            settle(page)
            expect(page.get_by_role("heading", name=re.compile("ログイン"))).to_be_visible()
            assert "Page not found" not in page.inner_text("body")
            page.get_by_label("ログインID").fill("sato")
            from tests.e2e_support import E2E_PASSWORD
            page.get_by_label("パスワード").fill(E2E_PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            settle(page)
            main = page.get_by_test_id("stMain")
            expect(page.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
            expect(main.get_by_text("架空 三郎").first).to_be_visible()
            screenshot(page, "30_bookmark_after_login")

            # The browser holds a random token; the server keeps only its digest.
            cookie = next(c for c in context.cookies() if c["name"] == "tsunagu_session")
            assert len(cookie["value"]) >= 40 and cookie["sameSite"] == "Strict"
            sessions = json.loads((data / "sessions.json").read_text(encoding="utf-8"))
            assert cookie["value"] not in json.dumps(sessions) and [s["user_id"] for s in sessions.values()] == ["sato"]

            page.reload()                                       # a reload stays logged in, on the same case
            settle(page)
            expect(page.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
            expect(main.get_by_text("架空 三郎").first).to_be_visible()

            tab = context.new_page()                            # so does a new tab
            tab.goto(f"{base}/cases")
            settle(tab)
            expect(tab.get_by_role("heading", name="ケース一覧", exact=True)).to_be_visible()
            tab.goto(f"{base}/settings_rules")                 # outside the role: a Japanese answer
            settle(tab)
            expect(tab.get_by_text("このページは見つからないか、開く権限がありません。")).to_be_visible()
            assert "Page not found" not in tab.inner_text("body")
            screenshot(tab, "31_page_outside_the_role")

            tab.get_by_role("button", name="ログアウト").click()    # logout in one tab ends the session
            settle(tab)
            expect(tab.get_by_role("heading", name=re.compile("ログイン"))).to_be_visible()
            page.reload()
            settle(page)
            expect(page.get_by_role("heading", name=re.compile("ログイン"))).to_be_visible()
            assert "架空 三郎" not in page.inner_text("body")
            assert json.loads((data / "sessions.json").read_text(encoding="utf-8")) == {}

            log_in(page, url, "sato")                           # a new login gets a new token
            settle(page)
            again = next(c for c in context.cookies() if c["name"] == "tsunagu_session")
            assert again["value"] != cookie["value"]
    finally:
        context.close()
