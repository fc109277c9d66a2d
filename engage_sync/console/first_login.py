"""The login `engage-sync up` makes for its console: shown once, on the terminal only.

`up` generates a password and an API token, hands the console process only the
password's hash (and the token, which the API compares), and writes both once to
its controlling terminal, never to stdout, which may be a log file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from engage_sync.console.security import hash_password

# Settings that mean the operator chose the login: `up` then makes none.
CHOSEN = ("CONSOLE_PASSWORD_HASH", "CONSOLE_PASSWORD_HASH_FILE")


@dataclass(frozen=True)
class FirstLogin:
    """A generated login: what the console process gets, and what to show once."""

    env: dict[str, str]
    password: str | None
    api_token: str | None


def make_login(environ: Mapping[str, str]) -> FirstLogin:
    """A fresh password and API token, unless the operator set a hash already."""
    if any(environ.get(name) for name in CHOSEN):
        return FirstLogin({}, None, None)
    password = secrets.token_urlsafe(15)
    env = {"CONSOLE_PASSWORD_HASH": hash_password(password)}
    token: str | None = None
    if not (environ.get("CONSOLE_API_TOKEN") or environ.get("CONSOLE_API_TOKEN_FILE")):
        token = env["CONSOLE_API_TOKEN"] = secrets.token_urlsafe(32)
    return FirstLogin(env, password, token)


def tell_terminal(text: str, tty: str = "/dev/tty") -> bool:
    """Write `text` to the controlling terminal; False when there is none (a
    service, CI, a test): then it is shown nowhere, as it must not reach a log."""
    try:
        fd = os.open(tty, os.O_WRONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    return True
