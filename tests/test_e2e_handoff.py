"""The hand-over in a real browser: a 地域包括支援センター takes an intake and confirms it with one
agency removed (with a reason); the 自立相談支援機関's staff member logs in, finds the referral in
今日やること and accepts it; the sender sees 受理. A referral left unaccepted past its limit shows as
overdue; a re-decision after a published rule change shows the new recommendation and leaves the
confirmation alone; 設定 > ルール counts the removal against the rule that gave the agency.

Every person in here is fictional.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from engine.casework.wareki import today as japan_today
from tests.e2e_support import (
    ARTIFACTS,
    add_account,
    choose,
    choose_radio,
    click_button,
    combobox,
    go_to,
    log_in,
    no_exception,
    running_app,
    screenshot,
    settle,
    type_number,
)

JIRITSU = "生活困窮者自立相談支援機関（社会福祉協議会）"
KURASHI = "くらし丸ごと相談室"
# A rule published after the confirmation: very old people are also recommended to the 基幹相談支援センター.
NEW_RULE = """
  - id: e2e_very_old
    label: 95歳以上 → 基幹相談支援センター（試験用）
    when: {fact: person.age, op: ">=", value: 95}
    then:
      agencies: [kikan_soudan]
      reason: 試験用のルールです。
"""


@pytest.fixture
def app_url(tmp_path):
    from engine.casework.cases import take_intake
    from engine.casework.handoff import confirm_case, recommended
    from engine.pack import load_pack
    from storage import open_repository
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    add_account(data, "e2e_admin", ["admin"])
    add_account(data, "houkatsu_staff", ["agency_staff"], agency="houkatsu_a")
    add_account(data, "jiritsu_staff", ["agency_staff"], agency="jiritsu_soudan")
    # An older case of the same 包括: its referral to the 自立相談 was sent weeks ago and never answered.
    pack = load_pack()
    with open_repository(data) as repo:
        old, _ = take_intake(repo, pack, {
            "received_on": "2026-10-01", "channel": "self", "resident": True, "area": "area1", "consent": "yes",
            "receiving_agency": "houkatsu_a", "person": {"name": "架空 三郎", "age": 70, "concerns": ["debt"]}},
            actor="houkatsu_staff")
        confirm_case(repo, pack, old["id"], recommended(old), {}, "houkatsu_staff", "houkatsu_a", dt.date(2026, 10, 1))
    with running_app(data, tmp_path / "streamlit.log") as url:
        yield url, data, old["id"]


def log_out(page) -> None:
    click_button(page, "ログアウト")
    expect(page.get_by_label("ログインID")).to_be_visible()


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def remove_last_chip(page, label: str) -> None:
    """Take the last choice out of the multiselect ``label`` (Backspace in its box, as staff do)."""
    box = combobox(page, label)
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    box.click()
    box.press("Backspace")
    page.keyboard.press("Escape")
    settle(page)


def test_confirm_refer_accept_overdue_redecide_and_counts(page, app_url):
    url, data, old_id = app_url
    # 1. 相談受付 at the 包括: care needs and debts, 第1圏域, consent given; age 96.
    log_in(page, url, "houkatsu_staff")
    choose_radio(page, "阪南市在住（必須）", "はい")
    choose(page, "相談経路（必須）", "本人")
    choose(page, "日常生活圏域（必須）", "第1圏域")
    choose(page, "本人同意（関係機関での情報共有）（必須）", "同意あり")
    type_number(page, "年齢（必須）", 96)
    choose(page, "相談内容（必須）", "介護が必要")
    choose(page, "相談内容（必須）", "多重債務")
    click_button(page, "受け付けて振り分ける")
    saved = page.get_by_text(re.compile(r"ケース \S+ を保存しました。"))
    expect(saved).to_be_visible()
    case_id = re.search(r"ケース (\S+) を保存しました。", saved.inner_text()).group(1)
    main = page.get_by_test_id("stMain")

    # 2. Confirm without the くらし丸ごと相談室 (the last recommended agency): first without a reason
    #    (refused), then with one.
    remove_last_chip(page, "機関")
    click_button(page, "振り分けを確定する")
    expect(main.get_by_text(re.compile("推薦と違う点には理由が必要です"))).to_be_visible()
    page.get_by_label(f"機関「{KURASHI}」を除外する理由", exact=True).fill("家族の支援はすでに別の場で話し合っている")
    page.keyboard.press("Tab")
    settle(page)
    screenshot(page, "h01_confirm_with_reason")
    click_button(page, "振り分けを確定する")
    expect(main.get_by_text(re.compile("振り分けを確定しました"))).to_be_visible()
    no_exception(page)

    # 3. The sender's 今日やること: the old referral is overdue and named.
    # Overdue: the older case's 受付 status and its unanswered referral; the new case is due this week.
    go_to(page, "今日やること")
    expect(metric(page, "期限切れ")).to_have_text("2")
    expect(metric(page, "今週が期限")).to_have_text("1")
    screenshot(page, "h02_sender_todo_overdue")
    go_to(page, "ケース一覧")
    page.get_by_text("期限切れだけ（状態の期限・受理されないつなぎ）").click()
    settle(page)
    expect(main.get_by_text("1 件中 1–1 件")).to_be_visible()
    choose(page, "ケースを開く", old_id, exact=False)
    page.get_by_role("tab", name="つなぎ・主担当", exact=True).click()
    expect(main.get_by_role("table").get_by_text(re.compile("受理待ち（期限切れ）"))).to_be_visible()
    log_out(page)

    # 4. The 自立相談 logs in, finds the referral (and the older, overdue one), accepts the new one.
    log_in(page, url, "jiritsu_staff")
    go_to(page, "今日やること")
    expect(metric(page, "受付待ちのつなぎ")).to_have_text("2")
    choose(page, "ケースを開く", case_id, exact=False)
    expect(page.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
    page.get_by_role("tab", name="つなぎ・主担当", exact=True).click()
    expect(main.get_by_text(f"{JIRITSU}あてのつなぎ", exact=False)).to_be_visible()
    screenshot(page, "h03_receiver_inbox")
    click_button(page, "受理する")
    expect(main.get_by_text("つなぎを受理しました。")).to_be_visible()
    no_exception(page)
    log_out(page)

    # 5. The sender sees 受理 on the case.
    log_in(page, url, "houkatsu_staff")
    go_to(page, "ケース一覧")
    choose(page, "ケースを開く", case_id, exact=False)
    page.get_by_role("tab", name="つなぎ・主担当", exact=True).click()
    table = main.get_by_role("table")
    expect(table.get_by_role("row").filter(has_text=JIRITSU)).to_contain_text("受理")
    expect(table.get_by_role("row").filter(has_text=JIRITSU)).not_to_contain_text("受理待ち")
    screenshot(page, "h04_sender_sees_accepted")
    from storage import open_repository
    with open_repository(data) as repo:
        case = repo.get_case(case_id)
        old = repo.get_case(old_id)
    assert {r["agency"]: r["state"] for r in case["referrals"]} == {"houkatsu_a": "accepted", "jiritsu_soudan": "accepted"}
    assert case["confirmed"]["changes"][0]["id"] == "kurashi_marugoto"
    assert any(r["state"] == "pending" and r["due"] < japan_today().isoformat() for r in old["referrals"])
    log_out(page)

    # 6. A rule change is published; the administrator re-decides: new recommendation, same confirmation.
    from engine.changes.versions import ensure_live, publish
    from ui.state import config_dir
    with open_repository(data) as repo:
        base = ensure_live(repo, config_dir())
        sources = dict(repo.get_version(base)["sources"])
        sources["rules.yaml"] = sources["rules.yaml"].rstrip("\n") + "\n" + NEW_RULE
        publish(repo, sources, "試験 管理者", "95歳以上の相談を基幹相談支援センターにも", base)
    log_in(page, url, "e2e_admin")
    go_to(page, "ケース一覧")
    choose(page, "ケースを開く", case_id, exact=False)
    click_button(page, "再判定（現在の設定と相談内容で推薦を出し直す。確定した振り分けは変えません）")
    expect(main.get_by_text(re.compile("再判定しました。確定した振り分けはそのままです"))).to_be_visible()
    expect(main.get_by_text(re.compile("再判定で変わった点: 新しい推薦に機関「基幹相談支援センター」があります"))).to_be_visible()
    no_exception(page)
    screenshot(page, "h05_redecided")
    with open_repository(data) as repo:
        after = repo.get_case(case_id)
    assert after["confirmed"] == case["confirmed"]
    assert "kikan_soudan" in [a["id"] for a in after["decision"]["agencies"]]

    # 7. 設定 > ルール: the removal counts against the rule that gave the くらし丸ごと相談室.
    go_to(page, "ルール")
    counts = page.get_by_test_id("stExpander").filter(has_text="職員が推薦を変えた回数")
    expect(counts).to_be_visible()
    expect(main.get_by_text("過去90日に職員がこのルールの推薦を外した回数: 1")).to_be_visible()
    expect(counts).to_contain_text(case_id)           # the table names the case
    expect(counts).to_contain_text(f"{KURASHI}（1）")
    no_exception(page)
    screenshot(page, "h06_rules_override_counts")
