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
