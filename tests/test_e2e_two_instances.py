"""Two app instances on one PostgreSQL database, in a real browser: a case taken on one appears in
the other's ケース一覧, and two staff changing its status at once, one on each instance, are
resolved by revision — one change is stored, the other is refused with the Japanese conflict message.
"""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.pack import load_pack
from engine.casework.workflow import allowed_next
from storage import open_repository, open_users
from tests.e2e_support import (ARTIFACTS, E2E_PASSWORD, STEP_TIMEOUT_MS, choose, go_to, log_in, no_exception,
                               route_single_field_case, running_app, screenshot, settle)


def new_tab(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context, context.new_page()


def open_case(page, case_id: str) -> None:
    go_to(page, "ケース一覧")
    choose(page, "ケースを開く", case_id, exact=False)
    expect(page.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
    page.get_by_role("tab", name="状態", exact=True).click()
    settle(page)


def test_two_instances_share_cases_and_resolve_concurrent_changes_by_revision(browser, pg_url, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    users = open_users(pg_url)
    users.add("staff_one", "一号機の職員（架空）", ["admin"], E2E_PASSWORD)
    users.add("staff_two", "二号機の職員（架空）", ["admin"], E2E_PASSWORD)
    users.close()
    pack = load_pack()
    target = pack.label("statuses", allowed_next(pack, pack.initial_status)[0])
    with running_app(tmp_path / "one", tmp_path / "one.log", database=pg_url) as one, \
            running_app(tmp_path / "two", tmp_path / "two.log", database=pg_url) as two:
        ctx_a, a = new_tab(browser)
        ctx_b, b = new_tab(browser)
        try:
            # 1. On instance one: an intake.
            log_in(a, one, "staff_one")
            case_id = route_single_field_case(a)

            # 2. On instance two: it is in the ケース一覧.
            log_in(b, two, "staff_two")
            go_to(b, "ケース一覧")
            expect(b.get_by_text(re.compile(r"^1 件中 1–1 件$"))).to_be_visible()
            open_case(b, case_id)
            screenshot(b, "two_instances_01_case_on_instance_two")

            # 3. Both open its status tab, both change it at once.
            open_case(a, case_id)
            for page in (a, b):
                choose(page, "次の状態", target)
                # The choice's own rerun must be over before the clicks, or a click can land on a
                # button being redrawn and be lost (seen once on a loaded machine).
                settle(page, pause_ms=500)
            a.get_by_role("button", name="状態を変更する", exact=True).click()
            b.get_by_role("button", name="状態を変更する", exact=True).click()
            saved = re.compile(re.escape(f"状態を「{target}」に変更しました。"))
            # The later click either reaches the save and is refused by revision, or its page has already
            # redrawn with the other's change (the status moved, so its choice is gone): either way it
            # is told, in Japanese, that someone else changed the case first, and nothing of it is stored.
            told = re.compile(r"他の職員が先に保存しました（あなたが開いた版: 1、現在の版: 2）|他の職員が更新しました（版 1 → 2）")
            for page in (a, b):
                settle(page, pause_ms=500)
                # The refused page also warns at the top that the case changed, which redraws the tabs.
                page.get_by_role("tab", name="状態", exact=True).click()
                settle(page)
                # Each page ends saying one or the other; wait for it rather than read it mid-draw.
                expect(page.get_by_text(saved).or_(page.get_by_text(told)).first).to_be_attached(timeout=STEP_TIMEOUT_MS)
            done = [p for p in (a, b) if p.get_by_text(saved).count()]
            refused = [p for p in (a, b) if p.get_by_text(told).count()]
            assert len(done) == 1 and len(refused) == 1 and done != refused, "one change stored, the other refused"
            for page in (a, b):
                no_exception(page)
            screenshot(refused[0], "two_instances_02_conflict_refused")
        finally:
            ctx_a.close()
            ctx_b.close()
    with open_repository(pg_url) as repo:
        case = repo.get_case(case_id)
        assert case["revision"] == 2 and case["status"] == allowed_next(pack, pack.initial_status)[0]
        assert [e["type"] for e in repo.events(case_id)].count("status_changed") == 1
