"""`up`'s console login: only the hash goes to the console, the password only to
the terminal."""

from __future__ import annotations

import os
from pathlib import Path

from engage_sync.console.first_login import make_login, tell_terminal
from engage_sync.console.security import verify_password
from ground.settings import ConsoleSettings, load


def test_generated_login_hands_the_console_only_the_hash() -> None:
    login = make_login({})
    assert login.password and login.api_token
    assert login.password not in "".join(login.env.values())
    settings = load(ConsoleSettings, **login.env)
    assert verify_password(login.password, settings.admin_password_hash())
    assert settings.bearer_token().get_secret_value() == login.api_token  # type: ignore[union-attr]


def test_an_operators_own_hash_is_kept_and_nothing_is_generated() -> None:
    login = make_login({"CONSOLE_PASSWORD_HASH": "scrypt$1$1$1$AA==$AA=="})
    assert login.env == {} and login.password is None


def test_the_login_goes_to_the_terminal_and_nowhere_without_one(
    tmp_path: Path,
) -> None:
    main, side = os.openpty()
    try:
        assert tell_terminal("password hunter2\n", os.ttyname(side))
        assert b"password hunter2" in os.read(main, 1024)
    finally:
        os.close(main)
        os.close(side)
    assert not tell_terminal("password hunter2\n", str(tmp_path / "no-tty"))


def test_hash_password_verb_prints_a_hash_the_console_accepts() -> None:
    from typer.testing import CliRunner

    from engage_sync.cli import app

    done = CliRunner().invoke(app, ["hash-password"], input="s3cret words\n")
    assert done.exit_code == 0, done.output
    encoded = done.output.strip().splitlines()[-1]
    assert verify_password("s3cret words", encoded)
    assert load(ConsoleSettings, CONSOLE_PASSWORD_HASH=encoded)
