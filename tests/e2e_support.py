"""Helpers for the browser test (tests/test_e2e.py): the app as a subprocess, Debian's Chromium, and
the few gestures a Streamlit page needs (choose in a combobox, type a number, wait for the rerun).

Playwright drives ``/usr/bin/chromium`` from Debian (``make browser-deps`` installs it with the Noto
CJK fonts); Playwright's own browser download is never used. All traffic stays on 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MISSING_BROWSER = (f"{CHROMIUM} がありません。`make browser-deps`（または `make test`）で Debian の chromium と "
                   f"fonts-noto-cjk を入れてください。 / {CHROMIUM} is missing: run `make browser-deps` "
                   "(or `make test`), which installs Debian's chromium and fonts-noto-cjk.")
START_TIMEOUT = 60.0
STEP_TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, log_path: Path, config: Path | None = None, database: str | None = None) -> Iterator[str]:
    """Start ``streamlit run ui/app.py`` on a free loopback port (on the pack ``config``, else the
    default one); yield its URL; stop its process group. With ``database`` (a postgresql:// URL)
    the app keeps its data there, as TSUNAGU_DATABASE_URL says."""
    port = free_port()
    python = ROOT / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else Path(sys.executable)), "-m", "streamlit", "run", "ui/app.py",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none"]     # an edit elsewhere in the checkout must not rerun the page
    env = {**os.environ, "TSUNAGU_DATA": str(data_dir)}
    env.pop("TSUNAGU_CONFIG", None)
    if config is not None:
        env["TSUNAGU_CONFIG"] = str(config)
    env.pop("TSUNAGU_DATABASE_URL", None)
    if database:
        env["TSUNAGU_DATABASE_URL"] = database
    url = f"http://127.0.0.1:{port}/"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_answering(proc, url, log_path)
            yield url
        finally:
            _stop(proc)


def wait_until_answering(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    """Return once ``url`` answers 200; fail with the log's tail if the process exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode} before answering:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app did not answer on {url} within {START_TIMEOUT:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- Streamlit gestures ---------------------------------------------------------------------------
def settle(page, pause_ms: int = 150) -> None:
    """Wait until the script run that the last gesture started has finished.

    A gesture reaches the server a moment after it is made, so first give it that moment; then wait
    for the app to be connected and not running, and for no element to be drawn as stale.
    """
    page.wait_for_timeout(pause_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=STEP_TIMEOUT_MS)
    page.wait_for_function("!document.querySelector(\"[data-stale='true']\")", timeout=STEP_TIMEOUT_MS)


E2E_PASSWORD = "試験用のながいパスワードです"


def add_account(data_dir: Path, user_id: str, roles: list[str], agency: str | None = None) -> None:
    """A fictional staff account in the app's own (temporary) data folder."""
    from storage.users import UserStore
    UserStore(data_dir).add(user_id, f"{user_id}（架空）", roles, E2E_PASSWORD, agency)


def log_in(page, url: str, user_id: str) -> None:
    page.goto(url)
    settle(page)
    page.get_by_label("ログインID").fill(user_id)
    page.get_by_label("パスワード").fill(E2E_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    settle(page)


def open_app(page, url: str, user_id: str = "e2e_admin") -> None:
    log_in(page, url, user_id)


def combobox(page, label: str):
    """A selectbox or multiselect by its label (required fields end in 「（必須）」)."""
    return page.get_by_role("combobox", name=label, exact=True)


def open_list(page, label: str, typed: str = ""):
    """Open the selectbox or multiselect ``label``'s list, typing ``typed`` to filter it (long
    lists draw only the options in view); return the listbox."""
    box = combobox(page, label)
    # The list closes when the page scrolls under it, and clicking or typing into a box at the
    # window's edge scrolls: bring the box to the middle first.
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    box.click()
    listbox = page.get_by_role("listbox")
    try:
        listbox.wait_for(timeout=2_000)
    except PlaywrightTimeout:           # a multiselect opens from the keyboard, not on focus
        box.press("ArrowDown")
        listbox.wait_for(timeout=5_000)
    if typed:
        box.fill(typed)
        if not listbox.is_visible():
            box.press("ArrowDown")
        listbox.wait_for(timeout=5_000)
    return listbox


def option(listbox, text: str, *, exact: bool = True):
    options = listbox.get_by_role("option")
    return options.filter(has_text=re.compile(f"^{re.escape(text)}$") if exact else text)


def pick(page, listbox, text: str, *, exact: bool = True) -> None:
    """Click the option ``text`` in the open ``listbox``; close a multiselect's list after it.

    Escape goes to a multiselect only. A selectbox closes its list by itself, and Escape in a
    closed selectbox that may be left empty clears its value: pressing it because the list was
    still fading out once undid the choice just made (a lost gesture, seen as a flaky test).
    """
    multiselect = page.evaluate("() => !!document.activeElement?.closest('[data-testid=stMultiSelect]')")
    option(listbox, text, exact=exact).first.click(timeout=5_000)
    if multiselect:
        page.keyboard.press("Escape")   # a multiselect keeps its list open
    settle(page)


def choose(page, label: str, text: str, *, exact: bool = True, attempts: int = 3) -> None:
    """Choose ``text`` in the selectbox or multiselect ``label``; ``exact=False`` takes the first
    option that contains it. A rerun that redraws the widget closes its list: then try again."""
    for attempt in range(1, attempts + 1):
        try:
            pick(page, open_list(page, label, text), text, exact=exact)
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.keyboard.press("Escape")
            settle(page, pause_ms=500)


def choose_radio(page, label: str, option: str) -> None:
    page.get_by_role("radiogroup", name=label, exact=True).get_by_text(option, exact=True).click()
    settle(page)


def type_number(page, label: str, value: int) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    settle(page)


def date_value(page, label: str):
    """The ISO value (YYYY-MM-DD) behind the date input ``label``, for ``expect(...).to_have_value``."""
    field = page.get_by_role("group", name=label, exact=True)
    return page.get_by_test_id("stDateInput").filter(has=field).locator("input[type=date]")


def click_button(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    settle(page)


def nav_links(page):
    """Every page link in the sidebar; Streamlit folds a long list behind 「View N more」."""
    nav = page.get_by_test_id("stSidebarNav")
    more = nav.get_by_test_id("stSidebarNavViewButton")
    if more.count() and re.search(r"more", more.inner_text(), re.IGNORECASE):
        more.click()
        expect(more).not_to_contain_text("more")
    return nav.get_by_role("link")


def sidebar_link(page, title: str):
    return nav_links(page).filter(has=page.get_by_text(title, exact=True))


def go_to(page, title: str) -> None:
    sidebar_link(page, title).click()
    settle(page)
    page.get_by_role("heading", name=title, exact=True).first.wait_for()


def no_exception(page) -> None:
    boxes = page.get_by_test_id("stException")
    if boxes.count():
        raise AssertionError("Streamlit の例外の表示があります / the page shows an exception:\n"
                             + "\n---\n".join(boxes.all_inner_texts()))


def screenshot(page, name: str) -> Path:
    """A full-page PNG under tests/artifacts/e2e/.

    Streamlit scrolls inside its own container, not the document, so the window is made as tall
    as the content for the picture and then put back.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight,
        ...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer],'
            + ' [data-testid=stSidebarContent]')].map(e => e.scrollHeight))""")
    height = min(max(int(height), size["height"]), 8000)
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(300)          # tabs and expanders animate
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if height > size["height"]:
            page.set_viewport_size(size)
    return path



def route_single_field_case(page, area: str = "第1圏域", age: int = 40) -> str:
    """相談受付: a resident with one 分野 only (多重債務), consent given, saved; returns the new case id."""
    choose_radio(page, "阪南市在住（必須）", "はい")
    choose(page, "相談経路（必須）", "本人")
    choose(page, "日常生活圏域（必須）", area)
    choose(page, "本人同意（関係機関での情報共有）（必須）", "同意あり")
    type_number(page, "年齢（必須）", age)
    choose(page, "相談内容（必須）", "多重債務")
    click_button(page, "受け付けて振り分ける")
    saved = page.get_by_test_id("stMain").get_by_text(re.compile(r"ケース \S+ を保存しました。"))
    expect(saved).to_be_visible()
    no_exception(page)
    return re.search(r"ケース (\S+) を保存しました。", saved.inner_text()).group(1)
