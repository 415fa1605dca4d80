"""A browser smoke test of every page on every bundled pack: the app started on the pack
(TSUNAGU_CONFIG), with fictional demo cases routed by that pack, opens each page of the
navigation without an exception, and shows the pack's own names where a page lists them.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.casework.demo import mark_store, save_demo
from engine.casework.stats import pack_figures
from engine.pack import bundled_packs, load_pack
from storage import open_repository
from tests.e2e_support import ARTIFACTS, add_account, go_to, nav_links, no_exception, open_app, running_app, screenshot, settle


@pytest.fixture(params=bundled_packs(), ids=lambda p: p.name)
def pack_app(request, tmp_path):
    root = request.param
    pack = load_pack(root)
    data = tmp_path / "data"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    add_account(data, "e2e_admin", ["admin"])
    with open_repository(data) as repo:
        mark_store(repo, "demo")                    # demo cases go only into a store marked demo
        save_demo(repo, pack, 40)
    with running_app(data, tmp_path / "streamlit.log", config=root) as url:
        yield pack, url


@pytest.fixture
def app_url(pack_app):
    return pack_app[1]


def test_every_page_opens_on_every_bundled_pack(page, pack_app):
    pack, url = pack_app
    open_app(page, url)
    go_to(page, "会議")
    expect(page.get_by_test_id("stMain")).to_contain_text(pack.meetings[0].label)
    go_to(page, "ダッシュボード")
    expect(page.get_by_test_id("stMain")).to_contain_text(pack_figures(pack)[-1].label)
    count = nav_links(page).count()
    assert count >= 10, nav_links(page).all_inner_texts()
    for i in range(count):
        link = nav_links(page).nth(i)
        title = link.inner_text().split()[-1]
        link.click()
        settle(page)
        expect(page.get_by_test_id("stMain").get_by_role("heading").first).to_be_visible()
        no_exception(page)
        screenshot(page, f"pack_{pack.id}_{i:02d}_{title}")
