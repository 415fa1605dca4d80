"""Staff-typed text is inert, in a real browser: markdown and HTML payloads in every free-text field
of the three forms (相談受付票, 支援プラン, 会議記録), in a note, a つなぎ note and a publish reason,
and no request leaves for the payload's host; nothing becomes a link, an image or a frame; the
text reads as typed. Also: the 監査ログ page's 「CSVで保存」 downloads in the browser.

The payload host is a real HTTP server on a loopback port that counts every hit, so a fetch from
any frame, worker or preload is caught, not only what Playwright's page sees.
"""
from __future__ import annotations

import csv
import http.server
import io
import re
import threading

import pytest
from playwright.sync_api import expect

from tests.e2e_support import (ARTIFACTS, add_account, choose, free_port, go_to, no_exception, open_app,
                               running_app, screenshot, settle, sidebar_link)

HITS: list[str] = []


class _Counter(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        HITS.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


def payload(host: str, where: str, multiline: bool) -> str:
    parts = [f"{where}:", f"![画像]({host}/md-image.png)", f'<img src="{host}/html-img.png">',
             f"[クリック]({host}/md-link)", f"{host}/autolink", f"<script>fetch('{host}/script')</script>",
             f'<iframe src="{host}/frame"></iframe>', f"<a href=\"{host}/a\">a</a>", ":red[赤] $x^2$ **太字**"]
    return ("\n" if multiline else " ").join(parts)


def free_text_fields(fields, prefix=""):
    """(path, field) for every text/textarea field, groups and repeats included, without a pattern
    (a pattern such as ふりがな's refuses the payload outright: inert by validation)."""
    for f in fields:
        if f.type in ("group", "repeat"):
            yield from free_text_fields(f.fields, f"{prefix}{f.id}.")
        elif f.type in ("text", "textarea") and not f.pattern:
            yield f"{prefix}{f.id}", f


@pytest.fixture
def seeded(tmp_path):
    from engine.casework.cases import take_intake
    from engine.pack import DEFAULT_PACK, load_pack, read_sources
    from engine.changes.versions import ensure_live, publish
    from engine.casework.workflow import add_note, connect_resource, record_outcome, save_plan
    from storage import open_repository
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{port}"
    HITS.clear()
    pack = load_pack()
    data = tmp_path / "data"
    add_account(data, "e2e_admin", ["admin"])
    filled = []
    intake = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
              "person": {"age": 82, "concerns": ["care_need"]},
              "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}]}
    for path, f in free_text_fields(pack.intake.fields):
        head, _, leaf = path.rpartition(".")
        target = intake if not head else intake[head] if head == "person" else intake[head][0]
        target[leaf] = payload(host, path, f.type == "textarea")
        filled.append(path)
    plan = {"made_on": "2026-11-21", "needs": ["care_need"], "roles": [{"agency": "houkatsu_a"}]}
    for path, f in free_text_fields(pack.forms["plan"].fields):
        head, _, leaf = path.rpartition(".")
        (plan[head][0] if head else plan)[leaf] = payload(host, f"plan.{path}", True)
        filled.append(f"plan.{path}")
    record = {"meeting": "juso_kaigi", "held_on": "2026-11-25", "outcome": "plan_approved"}
    for path, f in free_text_fields(pack.forms["meeting_record"].fields):
        record[path] = payload(host, f"record.{path}", True)
        filled.append(f"record.{path}")
    assert {"person.name", "person.address", "reporter", "summary", "abuse_detail", "plan.goal",
            "plan.roles.role", "record.notes"} <= set(filled)
    with open_repository(data) as repo:
        base = ensure_live(repo, DEFAULT_PACK)
        case, _ = take_intake(repo, pack, intake, actor="e2e_admin")
        save_plan(repo, pack, case["id"], plan, "e2e_admin")
        record_outcome(repo, pack, case["id"], record, "e2e_admin")
        add_note(repo, case["id"], payload(host, "note", True), "e2e_admin")
        connect_resource(repo, pack, case["id"], pack.ids("resources")[0], "e2e_admin", payload(host, "つなぎ", False))
        sources = read_sources(DEFAULT_PACK)
        sources = {**sources, "pack.yaml": sources["pack.yaml"] + "\n# 無害な変更\n"}
        publish(repo, sources, payload(host, "author", False), payload(host, "reason", False), base)
    yield data, host, case["id"]
    server.shutdown()


def test_markdown_and_html_typed_by_staff_never_reach_the_network(browser, seeded, tmp_path):
    data, host, case_id = seeded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP", accept_downloads=True)
    page = context.new_page()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        with running_app(data, tmp_path / "streamlit.log") as url:
            open_app(page, url)
            go_to(page, "ケース一覧")
            choose(page, "ケースを開く", case_id, exact=False)
            main = page.get_by_test_id("stMain")
            expect(main.get_by_role("heading", name="ケース詳細", exact=True)).to_be_visible()
            expect(page.get_by_role("tab", name="経過", exact=True)).to_be_visible()
            for tab in ("振り分け", "相談内容", "状態", "支援プラン", "地域資源", "メモ", "経過"):
                page.get_by_role("tab", name=tab, exact=True).click()
                page.wait_for_timeout(300)
                no_exception(page)
            page.get_by_role("tab", name="相談内容", exact=True).click()
            # Read as typed: the markdown source itself is on the page, not an image or a link.
            expect(main.get_by_text(re.compile(re.escape(f"person.name: ![画像]({host}/md-image.png)"))).first).to_be_visible()
            screenshot(page, "30_inert_case_intake")
            page.get_by_role("tab", name="経過", exact=True).click()
            expect(main.get_by_text(re.compile(r"メモ: note:\s*!\[画像\]\(")).first).to_be_visible()
            screenshot(page, "31_inert_case_timeline")
            go_to(page, "会議")
            sidebar_link(page, "履歴").click()
            settle(page)
            expect(main.get_by_role("heading", name="設定の履歴", exact=True)).to_be_visible()
            expect(main.get_by_text(re.compile(r"理由: reason: !\[画像\]\(")).first).to_be_visible()
            screenshot(page, "32_inert_history")
            for link, image, frame in [(page.locator(f"a[href^='{host}']").count(), page.locator(f"img[src^='{host}']").count(),
                                        page.locator("iframe").count())]:
                assert (link, image, frame) == (0, 0, 0)

            # 監査ログ: the CSV download works in the browser and names no payload as a formula.
            go_to(page, "監査ログ")
            with page.expect_download() as download:
                page.get_by_test_id("stDownloadButton").get_by_role("button", name="CSVで保存").click()
            text = open(download.value.path(), encoding="utf-8-sig").read()
            rows = list(csv.reader(io.StringIO(text)))
            assert rows[0] == ["連番", "日時", "だれが", "何を", "ケース", "対象"] and len(rows) >= 3
            no_exception(page)
            page.wait_for_timeout(1000)
    finally:
        context.close()
    assert [u for u in requested if u.startswith(host)] == []
    assert HITS == []
