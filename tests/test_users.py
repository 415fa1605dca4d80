"""Accounts: Argon2 hashes (long Japanese passphrases), lockout, disable, reset."""
from __future__ import annotations

import pytest

from storage.users import MAX_FAILURES, AuthError, UserStore

PASSPHRASE = "誰も一人ぼっちにしない誰も排除しないまちを阪南市でつくる"   # > 72 bytes in UTF-8


@pytest.fixture
def users(tmp_path):
    store = UserStore(tmp_path)
    store.add("yamada", "山田（架空）", ["agency_staff"], PASSPHRASE, agency="houkatsu_a")
    return store


def test_long_japanese_passphrase_works_and_is_not_stored(users, tmp_path):
    assert len(PASSPHRASE.encode()) > 72
    assert users.authenticate("yamada", PASSPHRASE).agency == "houkatsu_a"
    with pytest.raises(AuthError):
        users.authenticate("yamada", PASSPHRASE[:24])          # bcrypt would accept this prefix
    text = (tmp_path / "users.json").read_text(encoding="utf-8")
    assert PASSPHRASE not in text and "$argon2id$" in text


def test_lockout_after_repeated_failures(users):
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError, match="違います"):
            users.authenticate("yamada", "まちがったパスワードです")
    with pytest.raises(AuthError, match="ロック") as locked:
        users.authenticate("yamada", PASSPHRASE)
    with pytest.raises(AuthError) as unknown:
        users.authenticate("nobody", PASSPHRASE)
    assert str(locked.value) == str(unknown.value) and locked.value.reason == "locked"


def test_unknown_id_and_wrong_password_read_the_same(users):
    with pytest.raises(AuthError) as a:
        users.authenticate("nobody", PASSPHRASE)
    with pytest.raises(AuthError) as b:
        users.authenticate("yamada", "まちがったパスワードです")
    assert str(a.value) == str(b.value)


def test_disable_and_reset(users):
    users.set_disabled("yamada")
    with pytest.raises(AuthError) as disabled:
        users.authenticate("yamada", PASSPHRASE)
    with pytest.raises(AuthError) as unknown:
        users.authenticate("nobody", PASSPHRASE)
    # No account enumeration: a disabled account answers exactly like an unknown one.
    assert str(disabled.value) == str(unknown.value) and disabled.value.reason == "disabled"
    users.set_disabled("yamada", False)
    users.reset_password("yamada", "あたらしいパスワードです十文字以上")
    assert users.authenticate("yamada", "あたらしいパスワードです十文字以上").id == "yamada"


def test_bad_input_is_refused(users):
    with pytest.raises(AuthError, match="文字以上"):
        users.add("sato", "佐藤", ["admin"], "short")
    with pytest.raises(AuthError, match="すでにあります"):
        users.add("yamada", "山田", ["admin"], PASSPHRASE)
    with pytest.raises(AuthError, match="ログインID"):
        users.add("山田", "山田", ["admin"], PASSPHRASE)


def test_sessions_are_random_revocable_and_kept_as_digests(tmp_path):
    import time

    from storage.sessions import SessionStore
    store = SessionStore(tmp_path, idle_seconds=60)
    one, two = store.start("sato"), store.start("sato")
    assert one != two and len(one) >= 40
    assert store.user_of(one) == "sato" and store.user_of("guessed") is None and store.user_of(None) is None
    assert one not in (tmp_path / "sessions.json").read_text()
    assert oct((tmp_path / "sessions.json").stat().st_mode & 0o777) == "0o600"
    store.end(one)
    assert store.user_of(one) is None and store.user_of(two) == "sato"
    assert store.end_all("sato") == 1 and store.user_of(two) is None
    idle = SessionStore(tmp_path, idle_seconds=0)
    three = idle.start("sato")
    time.sleep(0.01)
    assert idle.user_of(three) is None                  # idle past the timeout: ended


def test_unlock_and_role_change(tmp_path):
    users = UserStore(tmp_path)
    users.add("sato", "佐藤", ["agency_staff"], "じゅうもじいじょうのぱすわーど", agency="houkatsu_a")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthError):
            users.authenticate("sato", "ちがうぱすわーどです")
    assert users.locked("sato")
    users.unlock("sato")
    assert not users.locked("sato") and users.authenticate("sato", "じゅうもじいじょうのぱすわーど").id == "sato"
    users.set_roles("sato", ["welfare_division"], None)
    assert users.get("sato").roles == ("welfare_division",) and users.get("sato").agency is None
    with pytest.raises(AuthError):
        users.set_roles("sato", [], None)


def test_disabling_or_resetting_an_account_ends_its_sessions(tmp_path):
    from storage.sessions import SessionStore
    users, sessions = UserStore(tmp_path), SessionStore(tmp_path)
    users.add("sato", "佐藤", ["agency_staff"], "じゅうもじいじょうのぱすわーど", agency="houkatsu_a")
    token = sessions.start("sato")
    users.reset_password("sato", "あたらしいじゅうもじのぱすわーど")
    assert sessions.user_of(token) is None
    token = sessions.start("sato")
    users.set_disabled("sato")
    assert sessions.user_of(token) is None
