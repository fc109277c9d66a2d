"""Every verb of the CLI, listed from the CLI itself, fails with one line naming the
setting to fix and a non-zero exit when a service it needs is dead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer.main

from engage_sync.cli import NO_KAFKA, NO_REGISTRY, app
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from tests.conftest import REPO, kafka_env
from tests.sockets import closed_port, listening_port

EXAMPLE_SETTINGS = str(REPO / "engage_sync" / "examples" / "crm-settings.example.yaml")
CALL = (
    '{"event_id": "e1", "occurred_at": "2024-05-01T12:00:00Z", "user_id": "u1",'
    ' "contact": {"engage_contact_id": "ec-1", "email": "a@example.org"},'
    ' "call_result": "NO_ANSWER"}\n'
)

# The least each verb needs to get as far as the services it uses. A verb missing
# here fails `test_every_verb_has_arguments_in_the_table`: add it when you add it.
VERB_ARGS: dict[str, list[str]] = {
    "up": ["--duration", "5", "--data-dir", "{tmp}/up"],
    "worker": [],
    "writer": [],
    # No Kafka at all: its dead service is its own listening port (see below).
    "sandbox": [],
    "produce": ["engage.dialer.calls", "{tmp}/calls.jsonl"],
    "topics": [],
    "poller": [],
    "poll-history": ["--object", "Lead"],
    "replay": ["--topic", "salesforce.commands", "--since", "-1h"],
    "lag": [],
    "settings apply": [EXAMPLE_SETTINGS],
    "settings show": [],
    "contacts show": ["someone@example.org"],
    "dlq list": [],
    "dlq show": ["--reason", "policy-refused"],
    "dlq resubmit": ["--reason", "policy-refused"],
    "status": [],
    "console": [],
    # Needs nothing at all: it hashes a password read from stdin.
    "hash-password": [],
}
# Verbs that talk to the org before anything else that could stop them.
SALESFORCE_VERBS = ("writer", "poller", "poll-history", "settings apply", "replay")


def _verbs(command: Any, prefix: str = "") -> Iterator[str]:
    # typer ships its own click: a group is whatever has sub-commands.
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for name, sub in subcommands.items():
            yield from _verbs(sub, f"{prefix}{name} ")
    else:
        yield prefix.strip()


def cli_verbs() -> list[str]:
    return sorted(_verbs(typer.main.get_command(app)))


def _base_env() -> dict[str, str]:
    """This machine's env without any pipeline setting the test did not choose."""
    prefixes = ("KAFKA_", "SALESFORCE_", "SCHEMA_REGISTRY_", "SANDBOX_", "METRICS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return env | {"METRICS_PORT": "0", "PYTHONUNBUFFERED": "1"}


def _dead_org() -> dict[str, str]:
    return {
        "SALESFORCE_INSTANCE_URL": f"https://127.0.0.1:{closed_port()}",
        "SALESFORCE_ACCESS_TOKEN": "not-a-token",
    }


def _run(
    verb: str, env: dict[str, str], tmp: Path
) -> tuple[str, subprocess.CompletedProcess[str]]:
    args = [a.replace("{tmp}", str(tmp)) for a in VERB_ARGS[verb]]
    return verb, _run_argv(cli_argv(*verb.split(), *args), env)


def _run_argv(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _run_all(
    verbs: list[str], env: dict[str, str], tmp: Path
) -> dict[str, subprocess.CompletedProcess[str]]:
    (tmp / "calls.jsonl").write_text(CALL)
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(pool.map(lambda v: _run(v, env, tmp), verbs))


def _problems(
    results: dict[str, subprocess.CompletedProcess[str]], setting: str
) -> list[str]:
    """What is wrong with each verb's failure; empty when every one failed cleanly."""
    out = []
    for verb, done in sorted(results.items()):
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        clean = (
            done.returncode == 2
            and len(lines) == 1
            and lines[0].startswith("engage-sync: ")
            and setting in lines[0]
            and "Traceback" not in done.stderr
        )
        if not clean:
            out.append(f"{verb}: exit {done.returncode}, stderr {done.stderr[-800:]!r}")
    return out


def test_every_verb_has_arguments_in_the_table() -> None:
    listed = cli_verbs()
    assert len(listed) >= 16  # the walk found the groups' verbs too
    assert [v for v in listed if v not in VERB_ARGS] == []
    assert [v for v in VERB_ARGS if v not in listed] == []


def test_every_verb_stops_with_one_line_when_kafka_is_unreachable(
    tmp_path: Path,
) -> None:
    verbs = [v for v in cli_verbs() if v not in ("sandbox", "hash-password")]
    env = (
        _base_env()
        | _dead_org()
        | {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{closed_port()}"}
    )
    results = _run_all(verbs, env, tmp_path)
    assert _problems(results, "KAFKA_BOOTSTRAP_SERVERS") == []
    # Nothing reached stdout: the one line is on stderr, results would be on stdout.
    assert {v: r.stdout for v, r in results.items() if r.stdout.strip()} == {}


def test_a_refusing_listener_is_named_like_a_dead_one(tmp_path: Path) -> None:
    """Something listens but is no Kafka (resets at once): `lag` must not report
    "no consumer groups", nor `dlq list` a traceback."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        port = int(server.getsockname()[1])
        env = _base_env() | {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}

        def refuse() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return  # the test closed the listener
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0"
                )
                conn.close()

        threading.Thread(target=refuse, daemon=True).start()
        results = _run_all(["lag", "dlq list"], env, tmp_path)
    assert _problems(results, "KAFKA_BOOTSTRAP_SERVERS") == []


def test_sandbox_stops_with_one_line_when_its_port_is_taken(tmp_path: Path) -> None:
    with listening_port() as port:
        env = _base_env() | {
            "SANDBOX_PORT": str(port),
            "SANDBOX_DATA_DIR": str(tmp_path / "org"),
        }
        results = _run_all(["sandbox"], env, tmp_path)
    assert _problems(results, "SANDBOX_PORT") == []


def test_python_m_sandbox_reads_the_same_settings_as_the_sandbox_verb(
    tmp_path: Path,
) -> None:
    # One sandbox entry: `python -m sandbox` reads SANDBOX_* env (not flags with
    # defaults of their own) and stops with the same one line.
    with listening_port() as port:
        env = _base_env() | {
            "SANDBOX_PORT": str(port),
            "SANDBOX_DATA_DIR": str(tmp_path / "org"),
        }
        done = _run_argv([sys.executable, "-m", "sandbox"], env)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("sandbox: "), done.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "SANDBOX_PORT" in lines[0]
    assert (tmp_path / "org").is_dir()  # it used SANDBOX_DATA_DIR


def test_verbs_that_use_the_registry_stop_with_one_line_when_it_is_dead(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    verbs = [v for v in cli_verbs() if v not in NO_KAFKA | NO_REGISTRY]
    assert "produce" in verbs and "worker" in verbs
    env = (
        _base_env()
        | kafka_env(kafka_settings)
        | {"SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{closed_port()}"}
    )
    assert _problems(_run_all(verbs, env, tmp_path), "SCHEMA_REGISTRY_URL") == []


@pytest.mark.parametrize("flow", ["token", "jwt"])
def test_verbs_that_use_salesforce_stop_with_one_line_when_the_org_is_dead(
    kafka_settings: KafkaSettings, tmp_path: Path, flow: str
) -> None:
    dead = f"https://127.0.0.1:{closed_port()}"
    if flow == "token":
        org = {"SALESFORCE_INSTANCE_URL": dead, "SALESFORCE_ACCESS_TOKEN": "x"}
        setting = "SALESFORCE_INSTANCE_URL"
    else:
        key = tmp_path / "key.pem"
        key.write_text("not read before the org answers\n")
        org = {
            "SALESFORCE_LOGIN_URL": dead,
            "SALESFORCE_CLIENT_ID": "client",
            "SALESFORCE_USERNAME": "someone@example.org",
            "SALESFORCE_PRIVATE_KEY_FILE": str(key),
        }
        setting = "SALESFORCE_LOGIN_URL"
    env = _base_env() | kafka_env(kafka_settings) | org
    results = _run_all(list(SALESFORCE_VERBS), env, tmp_path)
    assert _problems(results, setting) == []


@pytest.mark.parametrize("fault", ["unknown user", "not a private key"])
def test_settings_apply_stops_with_one_line_when_the_salesforce_login_fails(
    kafka_settings: KafkaSettings, sandbox_org: Any, tmp_path: Path, fault: str
) -> None:
    """The org answers but the login fails (it refuses the user, or the key file
    holds no key to sign the login with): one line naming the setting to fix."""
    from tests.conftest import salesforce_env

    if fault == "unknown user":
        change, setting = {"SALESFORCE_USERNAME": "nobody@example.org"}, "SALESFORCE_"
    else:
        garbage = tmp_path / "garbage.pem"
        garbage.write_text("not a PEM key\n")
        change = {"SALESFORCE_PRIVATE_KEY_FILE": str(garbage)}
        setting = "SALESFORCE_PRIVATE_KEY_FILE"
    env = _base_env() | kafka_env(kafka_settings) | salesforce_env(sandbox_org) | change
    results = _run_all(["settings apply"], env, tmp_path)
    assert _problems(results, setting) == []
