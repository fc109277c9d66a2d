"""`engage-sync up` runs the pipeline with demo traffic; Ctrl-C stops every child."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from engage_sync.supervisor import cli_argv
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO
from tests.waiting import wait_until


def _processes_with(marker: str) -> list[int]:
    """Pids whose env mentions `marker` (our data dir), i.e. children of that run."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


STATUS_LINE = re.compile(
    r"^status at \d+s: events in \d+; .*Tasks written \d+.*$", re.M
)


# The `make run` path: `up` starts its own embedded Tansu broker.
@pytest.mark.tansu
def test_up_writes_demo_tasks_and_ctrl_c_stops_every_child(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "state"
    out = tmp_path / "up.out"
    env = os.environ | {
        "PYTHONUNBUFFERED": "1",
        "ENGAGE_SYNC_TEST_MARKER": str(data_dir),
        "KAFKA_TOPIC_PREFIX": f"up{os.getpid()}.",
    }
    # Same broker as the other tests when one is given; otherwise `up` starts its own.
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    up = subprocess.Popen(
        cli_argv("up", "--data-dir", str(data_dir), "--rate", "50"),
        env=env,
        cwd=REPO,
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = wait_until(
            lambda: re.search(
                r"https://127\.0\.0\.1:\d+", out.read_text(errors="replace")
            ),
            90,
            what="the sandbox URL in up's output",
        ).group(0)
        admin = SandboxAdmin(url, data_dir / "sandbox" / "ca.pem")

        def tasks() -> int:
            assert up.poll() is None, out.read_text(errors="replace")[-3000:]
            return int(admin.stats()["records"].get("Task", 0))

        seeded = tasks()  # the demo org comes with some Tasks of its own
        wait_until(lambda: tasks() >= seeded + 50, 120, what="50 demo Tasks")
        # stdout is a file, not a terminal: plain status lines, not a live view.
        wait_until(
            lambda: STATUS_LINE.search(out.read_text(errors="replace")),
            30,
            what="a plain status line in up's output",
        )
        assert len(_processes_with(str(data_dir))) >= 3  # sandbox, worker, writer
        console = re.search(
            r"Admin console: (http://127\.0\.0\.1:\d+)", out.read_text()
        )
        assert console, out.read_text(errors="replace")[-3000:]
        wait_until(
            lambda: _answers(f"{console.group(1)}/healthz"), 30, what="the console"
        )
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0, out.read_text(errors="replace")[-3000:]
    finally:
        if up.poll() is None:
            up.kill()
    text = out.read_text(errors="replace")
    status = json.loads(text.split("final status: ", 1)[1].splitlines()[0])
    assert status["events in"] > 0
    assert status["Task commands"] > 0
    assert status["Tasks written"] >= 50
    # The demo's own traffic is written: only its deliberately broken events fail.
    assert status["writes refused"] <= status["deliberate bad events"]
    assert (
        status["dead letters"]
        <= status["deliberate bad events"] + (status["writes refused"])
    )
    assert status["deliberate bad events"] <= 0.05 * status["events in"]
    plain = STATUS_LINE.findall(text)
    assert plain and all("deliberate bad events" in line for line in plain)
    assert "engage-sync up —" not in text  # the terminal's live table never drew
    assert status["Salesforce API calls used"] > 0
    assert status["Salesforce records polled"] > 0  # demo backfill of the example rules
    assert status["Engage contact updates"] > 0
    assert "stopped: every child process has exited" in text
    # No terminal here: the generated console login is shown nowhere, least in logs.
    assert "generated login was not shown" in text
    assert "password " not in text.replace("CONSOLE_PASSWORD_HASH", "")
    assert _processes_with(str(data_dir)) == []
