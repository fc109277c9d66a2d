"""poller, poll-history and replay log their INFO lines to stderr; results (and
nothing else) go to stdout, progress bars to stderr."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, kafka_env, salesforce_env
from tests.waiting import wait_until

RULES = """
objects:
  Lead:
    sync: true
    poll_interval: 30s
    rules: {any: [{field: Title, op: contains, value: Sales}]}
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_argv(*args),
        env=os.environ | env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if " INFO " in line]


def test_inbound_verbs_and_replay_log_to_stderr_and_print_results_to_stdout(
    kafka_settings: KafkaSettings, sandbox_org: Any, tmp_path: Path
) -> None:
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    SandboxAdmin(sandbox_org.url, sandbox_org.ca_path).put_records(
        "Lead", [{"LastName": "Vance", "Company": "Acme", "Title": "Sales VP"}]
    )
    rules = tmp_path / "crm.yaml"
    rules.write_text(RULES)
    applied = _cli(env, "settings", "apply", str(rules))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith(f"applied {rules}")

    backfill = _cli(env, "poll-history", "--object", "Lead")
    assert backfill.returncode == 0, backfill.stderr
    assert backfill.stdout.splitlines() == [
        "1 Lead record(s) match the sync rules; the backfill costs about "
        + backfill.stdout.split("about ", 1)[1].splitlines()[0],
        "published 1 Lead record(s) with "
        + backfill.stdout.rsplit("with ", 1)[1].splitlines()[0],
    ]
    assert any("engage_sync.poll_history" in x for x in _log_lines(backfill.stderr))
    assert "Lead backfill" in backfill.stderr  # the progress bar, not in stdout

    replay = _cli(
        env, "replay", "--topic", "engage.dialer.calls", "--since", "-1h", "--dry-run"
    )
    assert replay.returncode == 0, replay.stderr
    assert "record(s) with timestamps from" in replay.stdout
    assert replay.stdout.rstrip().endswith("dry run: nothing processed")
    assert _log_lines(replay.stdout) == []
    assert any("scanning" in x for x in _log_lines(replay.stderr))

    out, err = tmp_path / "poller.out", tmp_path / "poller.err"
    poller = subprocess.Popen(
        cli_argv("poller"),
        env=os.environ | env | {"PYTHONUNBUFFERED": "1"},
        cwd=REPO,
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: any(
                "connectors.salesforce.poller" in x
                for x in _log_lines(err.read_text(errors="replace"))
            ),
            90,
            what="the poller's INFO line about its first poll",
        )
    finally:
        poller.send_signal(signal.SIGTERM)
        poller.wait(30)
    assert _log_lines(out.read_text(errors="replace")) == []
