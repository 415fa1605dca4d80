"""Shared test setup.

Page tests (AppTest) run as a logged-in administrator unless marked ``real_auth``: they
test pages, not login. Login, roles and the unauthenticated view are tested with the real
flow in test_auth_pages.py (marked) and in the browser test.
"""
from __future__ import annotations

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
    config.addinivalue_line("markers", "real_auth: use the real login (no test administrator)")


@pytest.fixture(autouse=True)
def _logged_in_admin(request, monkeypatch):
    if request.node.get_closest_marker("real_auth"):
        return
    import ui.auth
    monkeypatch.setattr(ui.auth, "current_user", lambda: TEST_ADMIN)
