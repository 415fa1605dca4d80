"""Shared test setup.

Page tests (AppTest) run as a logged-in administrator unless marked ``real_auth``: they
test pages, not login. Login, roles and the unauthenticated view are tested with the real
flow in test_auth_pages.py (marked) and in the browser test.
"""
from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import pytest

from storage.users import User

TEST_ADMIN = User("test_admin", "試験用の管理者", ("admin",))


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty data folder the app under test uses; one per test, because ui.state caches
    one repository per data path."""
    monkeypatch.setenv("TSUNAGU_DATA", str(tmp_path))
    return tmp_path


def pytest_configure(config):
    # The audit key lives outside every data folder (storage/keys.py): one for the whole run,
    # in a temp folder, inherited by the app and CLI processes the tests start.
    if "TSUNAGU_AUDIT_KEY_FILE" not in os.environ:
        import tempfile
        os.environ["TSUNAGU_AUDIT_KEY_FILE"] = os.path.join(tempfile.mkdtemp(prefix="tsunagu-key-"), "audit.key")
    config.addinivalue_line("markers", "real_auth: use the real login (no test administrator)")
    _patient_apptest()


def _patient_apptest(floor: float = 60) -> None:
    """AppTest waits at least ``floor`` seconds for a script run, whatever a test asks for.

    A page test checks what a page shows, not how fast: speed lives in ``make bench``. On a
    loaded 2-core machine a 10 s wait fails pages that are merely slow to get the CPU.
    """
    from streamlit.testing.v1 import AppTest
    original = AppTest.from_file.__func__
    if getattr(original, "_patient", False):
        return

    def from_file(cls, *args, default_timeout: float = floor, **kwargs):
        return original(cls, *args, default_timeout=max(default_timeout, floor), **kwargs)
    from_file._patient = True
    AppTest.from_file = classmethod(from_file)


@pytest.fixture(autouse=True)
def _logged_in_admin(request, monkeypatch):
    if request.node.get_closest_marker("real_auth"):
        return
    import ui.auth
    monkeypatch.setattr(ui.auth, "current_user", lambda: TEST_ADMIN)


# -- the browser tests' fixtures (tests/test_e2e*.py; each module defines its own app_url) -----
@pytest.fixture(scope="module")
def browser():
    from tests.e2e_support import CHROMIUM, CHROMIUM_ARGS, MISSING_BROWSER
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(MISSING_BROWSER, pytrace=False)       # never skipped: `make test` installs it
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url, request):
    """A fresh browser tab on the app; ``app_url`` comes from the test module."""
    from playwright.sync_api import expect

    from tests.e2e_support import ARTIFACTS, STEP_TIMEOUT_MS
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="ja-JP",
                                  timezone_id="Asia/Tokyo")
    context.set_default_timeout(STEP_TIMEOUT_MS)
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    try:                                # what the page showed last: the first thing to look at when a step fails
        tab.screenshot(path=str(ARTIFACTS / f"last_{request.node.name}.png"), full_page=True)
    finally:
        context.close()


# -- PostgreSQL: a real server started by `make test` (tests/pg_cluster.py) ---------------------
MISSING_POSTGRES = (
    "PostgreSQL のテストには、make test が起動するテスト用のサーバーが必要です（TSUNAGU_TEST_DATABASE_URL がありません）。"
    "make test で実行するか、.venv/bin/python tests/pg_cluster.py run -- .venv/bin/python -m pytest … としてください。\n"
    "The PostgreSQL tests need the throwaway server that make test starts (TSUNAGU_TEST_DATABASE_URL is not set): "
    "run them through make test or tests/pg_cluster.py run -- ….")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The test server's URL (its maintenance database); never skipped when missing."""
    url = os.environ.get("TSUNAGU_TEST_DATABASE_URL")
    if not url:
        pytest.fail(MISSING_POSTGRES, pytrace=False)
    return url


def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def pg_url(pg_server):
    """A new, empty database on the test server, dropped after the test."""
    import psycopg
    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield database_url(pg_server, name)
    from storage.pg_database import Database
    for db in list(Database._shared.values()):         # a test that forgot to close must not leak a pool
        if name in db.url and not db.closed:
            db._users = 1
            db.release()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
