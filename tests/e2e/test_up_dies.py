"""However `up` ends (SIGKILL, its terminal closed), no child of it stays running."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import termios
import threading
from pathlib import Path

import pytest

from engage_sync.supervisor import Supervisor, cli_argv
from tests.conftest import REPO
from tests.e2e.test_up import _processes_with
from tests.waiting import wait_until

# Tansu broker, sandbox, worker, writer, poller, console.
CHILDREN = 6
# A supervisor grants 30 s after SIGTERM before SIGKILL.
GONE_WITHIN = 35


def _up_env(data_dir: Path) -> dict[str, str]:
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "ENGAGE_SYNC_TEST_MARKER": str(data_dir),
        "KAFKA_TOPIC_PREFIX": f"updies{os.getpid()}.",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # `make run`'s path: its own broker
    return env


def _up_args(data_dir: Path) -> list[str]:
    return cli_argv("up", "--data-dir", str(data_dir))


def _wait_for_children(data_dir: Path, up: subprocess.Popen[bytes], log: Path) -> None:
    def started() -> bool:
        assert up.poll() is None, log.read_text(errors="replace")[-3000:]
        return len(_processes_with(str(data_dir))) >= CHILDREN

    wait_until(started, 120, what=f"{CHILDREN} children of up")


@pytest.mark.tansu
def test_sigkilled_up_leaves_no_child_running(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    with Supervisor(tmp_path) as supervisor:
        up = supervisor.start("up", _up_args(data_dir), env=_up_env(data_dir))
        assert up.log is not None
        _wait_for_children(data_dir, up.popen, up.log)
        children = _processes_with(str(data_dir))
        supervisor.kill9(up)
        wait_until(
            lambda: _processes_with(str(data_dir)) == [],
            GONE_WITHIN,
            what=f"up's children {children} gone after its SIGKILL",
        )


@pytest.mark.tansu
def test_closing_ups_terminal_stops_every_child(tmp_path: Path) -> None:
    data_dir = tmp_path / "state"
    master, slave = os.openpty()
    seen = bytearray()
    done = threading.Event()

    def drain() -> None:
        # The terminal must be read, or `up` blocks once the pty buffer is full.
        while not done.is_set():
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen.extend(os.read(master, 65536))
                except OSError:
                    return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    log = tmp_path / "up.terminal"
    # A real terminal session: `up` leads a session whose controlling terminal is
    # the pty (setsid by start_new_session, then TIOCSCTTY on its stdin), so closing
    # the master sends it SIGHUP as closing a terminal window does.
    up = subprocess.Popen(  # noqa: S603 - our own CLI
        _up_args(data_dir),
        env=_up_env(data_dir),
        cwd=REPO,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509
    )
    os.close(slave)
    try:
        try:
            _wait_for_children(data_dir, up, log)
        finally:
            log.write_bytes(bytes(seen))
        children = _processes_with(str(data_dir))
        done.set()
        reader.join()
        os.close(master)  # the terminal window closes
        wait_until(
            lambda: _processes_with(str(data_dir)) == [] and up.poll() is not None,
            GONE_WITHIN,
            what=f"up and its children {children} gone after SIGHUP",
        )
    finally:
        done.set()
        if up.poll() is None:
            up.send_signal(signal.SIGKILL)
            up.wait()
