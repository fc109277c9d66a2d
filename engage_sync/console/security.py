"""The console's locks: password hashes (scrypt), sessions, CSRF tokens, lock-out.

Sessions live in this process's memory: a restart logs everyone out, and a logout
or an expiry really ends a session (a signed cookie could not be taken back).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# RFC 7914's interactive parameters: ~16 MiB and some 50 ms per check here, which
# makes guessing slow without making a login slow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` of `password`, with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM,
        dklen=32,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` matches `encoded` (compared in constant time)."""
    try:
        _, n, r, p, salt, expected = encoded.split("$")
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=SCRYPT_MAXMEM,
            dklen=len(base64.b64decode(expected)),
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


def same_secret(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison of two secrets; a missing one never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class LockOut:
    """After `attempts` failed logins within `window` seconds, every login (even a
    right one) is refused for `seconds`: one admin account, so one counter."""

    def __init__(
        self,
        attempts: int,
        window: float,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window, self.seconds = attempts, window, seconds
        self.clock = clock
        self._failures: deque[float] = deque()
        self._locked_until = 0.0
        self._lock = threading.Lock()

    def locked_for(self) -> float:
        """Seconds the lock-out still lasts (0 when logins are open)."""
        with self._lock:
            return max(0.0, self._locked_until - self.clock())

    def failed(self) -> None:
        now = self.clock()
        with self._lock:
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self.window:
                self._failures.popleft()
            if len(self._failures) >= self.attempts:
                self._locked_until = now + self.seconds
                self._failures.clear()

    def succeeded(self) -> None:
        with self._lock:
            self._failures.clear()


@dataclass
class Session:
    """One logged-in admin: the CSRF token every form post of it must carry."""

    sid: str
    user: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    last_seen: float = 0.0


class Sessions:
    """Logged-in sessions by their random id, ended by logout or idleness."""

    def __init__(
        self, idle_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_seconds, self.clock = idle_seconds, clock
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: str) -> Session:
        """A new session (a new id at every login: no session fixation)."""
        session = Session(secrets.token_urlsafe(32), user, last_seen=self.clock())
        with self._lock:
            self._expire()
            self._by_id[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            self._expire()
            session = self._by_id.get(sid)
            if session is not None:
                session.last_seen = self.clock()
            return session

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def _expire(self) -> None:
        now = self.clock()
        for sid in [
            s.sid for s in self._by_id.values() if now - s.last_seen > self.idle_seconds
        ]:
            del self._by_id[sid]
