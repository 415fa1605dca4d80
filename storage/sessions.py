"""Login sessions kept on the server, so a reload, a new tab or a bookmark stays logged in.

The browser holds only a random token in a cookie; the server keeps its SHA-256 (a copied
``sessions.json`` logs no one in), the user and when it was last used. A session ends at
logout, after ``idle_seconds`` without use, or when an administrator disables the account or
resets its password (every session of that user is revoked).
"""
from __future__ import annotations

import hashlib
import secrets
import time

from storage.locked_json import LockedJSONFile

# The last-use time is written at most this often: a page view must not rewrite the file.
TOUCH_EVERY = 60
IDLE_SECONDS = 30 * 60


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore(LockedJSONFile):
    NAME = "sessions.json"

    def __init__(self, data_dir, idle_seconds: int = IDLE_SECONDS):
        super().__init__(data_dir)
        self.idle_seconds = idle_seconds

    def start(self, user_id: str) -> str:
        """A new session for ``user_id``; returns the token for the cookie (shown once)."""
        token = secrets.token_urlsafe(32)
        now = time.time()

        def mutate(sessions: dict) -> None:
            for key in [k for k, s in sessions.items() if now - s["last_seen"] > self.idle_seconds]:
                del sessions[key]                       # expired ones go whenever a session starts
            sessions[_digest(token)] = {"user_id": user_id, "since": now, "last_seen": now}
        self._change(mutate)
        return token

    def user_of(self, token: str | None) -> str | None:
        """The user of a live session, refreshing its last use; None if unknown, ended or idle."""
        if not token:
            return None
        key, now = _digest(token), time.time()
        session = self._load().get(key)
        if session is None:
            return None
        if now - session["last_seen"] > self.idle_seconds:
            self.end(token)
            return None
        if now - session["last_seen"] > TOUCH_EVERY:
            def mutate(sessions: dict) -> None:
                if key in sessions:
                    sessions[key]["last_seen"] = now
            self._change(mutate)
        return session["user_id"]

    def end(self, token: str | None) -> None:
        if token:
            self._change(lambda sessions: sessions.pop(_digest(token), None))

    def end_all(self, user_id: str) -> int:
        """Revoke every session of ``user_id``; returns how many there were."""
        def mutate(sessions: dict) -> int:
            mine = [k for k, s in sessions.items() if s["user_id"] == user_id]
            for key in mine:
                del sessions[key]
            return len(mine)
        return self._change(mutate)

    def count(self, user_id: str) -> int:
        now = time.time()
        return sum(1 for s in self._load().values() if s["user_id"] == user_id and now - s["last_seen"] <= self.idle_seconds)
