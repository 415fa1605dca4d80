"""Every case page works with 20,000 demo cases, not only with a handful."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.casework.demo import mark_store, save_demo
from engine.pack import load_pack
from storage import open_repository

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
SIZE = 20_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("big")
    with open_repository(path) as repo:
        mark_store(repo, "demo")
        save_demo(repo, load_pack(), SIZE)
        first = repo.read_cases(lambda cases: cases[0]["id"])
    return path, first


@pytest.mark.parametrize("page, expect", [
    ("views/consult/cases.py", f"{SIZE:,} 件中 1–50 件"),      # 20,000: with the thousands separated
    ("views/status/dashboard.py", None),
    ("views/meetings/meetings.py", None),
    ("views/consult/case.py", None),
])
def test_page_at_20000_cases(big, monkeypatch, page, expect):
    path, first = big
    monkeypatch.setenv("TSUNAGU_DATA", str(path))
    at = AppTest.from_file(APP, default_timeout=60).run()     # pages are known by path after a first run
    at.session_state["case_id"] = first
    at.switch_page(page).run()
    assert not at.exception
    assert [e.value for e in at.error if "緊急" not in e.value] == []     # an urgent case's banner is expected
    if expect:
        assert expect in [c.value for c in at.caption]
