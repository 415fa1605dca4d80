"""Staff accounts, kept in the data folder (never in the configuration pack or git).

Passwords are hashed with Argon2id (argon2-cffi): unlike bcrypt it has no 72-byte limit,
which a Japanese passphrase passes at 24 characters. Repeated failures lock the account
for a while; a disabled account cannot log in at all.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import TsunaguError
from storage.locked_json import LockedJSONFile
from storage.sessions import SessionStore

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
_ID = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")


class AuthError(TsunaguError):
    """Login refused; the message never says whether the id or the password was wrong."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        #: Why, as a code for the audit log only (unknown / disabled / locked / password).
        self.reason = reason


#: The one answer to every refused login: unknown, disabled, locked and wrong password read
#: the same, so the login box does not tell which accounts exist or what state they are in.
REFUSED = (f"ログインできません。ログインIDかパスワードが違います（{MAX_FAILURES}回続けて間違えると{LOCK_MINUTES}分間ロックされます）。"
           "正しく入れても入れないときは、管理者に連絡してください。")


@dataclass(frozen=True)
class User:
    id: str
    name: str
    roles: tuple[str, ...]
    agency: str | None = None
    disabled: bool = False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UserStore(LockedJSONFile):
    """``<data>/users.json``, replaced atomically under a file lock."""

    NAME = "users.json"

    def sessions(self) -> SessionStore:
        """The login sessions kept beside these accounts."""
        return SessionStore(self.dir)

    def users(self) -> list[User]:
        return [self._user(u) for u in self._load().values()]

    def get(self, user_id: str) -> User | None:
        raw = self._load().get(user_id)
        return self._user(raw) if raw else None

    def count(self) -> int:
        return len(self._load())

    @staticmethod
    def _user(raw: dict) -> User:
        return User(raw["id"], raw.get("name", raw["id"]), tuple(raw.get("roles", ())), raw.get("agency"),
                    bool(raw.get("disabled")))

    # -- changes -----------------------------------------------------------------------
    @staticmethod
    def check_password(password: str) -> None:
        if len(password or "") < MIN_PASSWORD:
            raise AuthError(f"パスワードは {MIN_PASSWORD} 文字以上にしてください（日本語の文も使えます）。")

    def add(self, user_id: str, name: str, roles: list[str], password: str, agency: str | None = None) -> User:
        if not _ID.match(user_id or ""):
            raise AuthError("ログインIDは半角英小文字で始まる 2〜32 文字（英数字と . _ -）にしてください。")
        if not roles:
            raise AuthError("役割を1つ以上選んでください。")
        self.check_password(password)

        def mutate(users: dict) -> User:
            if user_id in users:
                raise AuthError(f"ログインID「{user_id}」はすでにあります。")
            users[user_id] = {"id": user_id, "name": name or user_id, "roles": list(roles), "agency": agency,
                              "password": _HASHER.hash(password), "disabled": False, "failures": 0,
                              "locked_until": None, "created_at": _now().isoformat(timespec="seconds")}
            return self._user(users[user_id])
        return self._change(mutate)

    def set_disabled(self, user_id: str, disabled: bool = True) -> None:
        """Disable (or enable again); disabling ends every session of the account at once."""
        def mutate(users: dict) -> None:
            self._require(users, user_id)["disabled"] = disabled
        self._change(mutate)
        if disabled:
            self.sessions().end_all(user_id)

    def reset_password(self, user_id: str, password: str) -> None:
        """A new password; whoever is logged in with the old one is logged out."""
        self.check_password(password)

        def mutate(users: dict) -> None:
            user = self._require(users, user_id)
            user.update(password=_HASHER.hash(password), failures=0, locked_until=None)
        self._change(mutate)
        self.sessions().end_all(user_id)

    def unlock(self, user_id: str) -> None:
        """End a lock after repeated failures (the password stays)."""
        def mutate(users: dict) -> None:
            self._require(users, user_id).update(failures=0, locked_until=None)
        self._change(mutate)

    def set_roles(self, user_id: str, roles: list[str], agency: str | None) -> None:
        if not roles:
            raise AuthError("役割を1つ以上選んでください。")

        def mutate(users: dict) -> None:
            self._require(users, user_id).update(roles=list(roles), agency=agency)
        self._change(mutate)

    def locked(self, user_id: str) -> bool:
        """Is the account locked after repeated failures right now?"""
        until = (self._load().get(user_id) or {}).get("locked_until")
        return bool(until) and dt.datetime.fromisoformat(until) > _now()

    @staticmethod
    def _require(users: dict, user_id: str) -> dict:
        if user_id not in users:
            raise AuthError(f"ログインID「{user_id}」はありません。tsunagu user list で確かめてください。")
        return users[user_id]

    def authenticate(self, user_id: str, password: str) -> User:
        """The user, or ``AuthError``; failures count towards a temporary lock."""
        def mutate(users: dict) -> User:
            raw = users.get(user_id)
            if raw is None:
                _HASHER.hash(password or "x")          # same work either way: no timing hint
                raise AuthError(REFUSED, "unknown")
            locked = raw.get("locked_until")
            if raw.get("disabled") or (locked and dt.datetime.fromisoformat(locked) > _now()):
                _HASHER.hash(password or "x")
                raise AuthError(REFUSED, "disabled" if raw.get("disabled") else "locked")
            try:
                _HASHER.verify(raw["password"], password or "")
            except (VerificationError, InvalidHashError):
                raw["failures"] = raw.get("failures", 0) + 1
                if raw["failures"] >= MAX_FAILURES:
                    raw["locked_until"] = (_now() + dt.timedelta(minutes=LOCK_MINUTES)).isoformat(timespec="seconds")
                    raw["failures"] = 0
                raise AuthError(REFUSED, "password") from None
            raw.update(failures=0, locked_until=None)
            return self._user(raw)

        # A refused login must still persist its failure count, so save before re-raising.
        with self._locked():
            users = self._load()
            try:
                return mutate(users)
            finally:
                if user_id in users:            # an unknown id changes nothing, so writes nothing
                    self._save(users)
