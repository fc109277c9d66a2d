"""Writer, poller and `settings apply` check at start-up that the org has API access,
an edition that includes it, and that the integration user holds every grant the
guide requires: a refusal stops the verb with one line naming object and permission.

Each case runs against its own sandbox org over HTTPS, set through its admin API;
the cases run side by side (the unit tests of `connectors.salesforce.access`
cover every other combination; every other test runs with the defaults: every
grant, Enterprise Edition, API enabled).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from tests.conftest import REPO, kafka_env, salesforce_env

# Lead status written back (bi-directional): Lead.Status must be updateable.
STATUS_WRITTEN = """
objects:
  Lead:
    sync: true
    mapping:
      - {engage: last_name, salesforce: LastName}
      - {engage: first_name, salesforce: FirstName}
      - {engage: status, salesforce: Status, direction: bidirectional_most_recent}
"""
USER = "integration@engage-sync.sandbox"
GRANT = "to its profile or permission set"
# verb, the org's access (SandboxAdmin.set_access), the line's end.
CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "writer without Create on Task": (
        "writer",
        {"objects": {"Task": {"create": False}}},
        f"Salesforce user {USER} cannot create Task: grant Create on Task {GRANT}",
    ),
    "poller without the Task key visible": (
        "poller",
        {"fields": {"Task.Engage_Activity_Id__c": {"visible": False}}},
        f"Salesforce user {USER} cannot see Task.Engage_Activity_Id__c: grant Read "
        f"and Edit access on Task.Engage_Activity_Id__c {GRANT} (if",
    ),
    "settings apply mapping a read-only Lead.Status": (
        "settings apply",
        {"fields": {"Lead.Status": {"updateable": False}}},
        f"Salesforce user {USER} cannot edit Lead.Status: grant Edit access on "
        f"Lead.Status {GRANT}",
    ),
    "writer in a Professional Edition org": (
        "writer",
        {"edition": "Professional Edition"},
        "the Salesforce org is Professional Edition: Engage needs Enterprise, "
        "Unlimited, Developer or Performance Edition",
    ),
    "settings apply in an org without API access": (
        "settings apply",
        {"api_enabled": False},
        "the Salesforce org refuses API calls (API_DISABLED_FOR_ORG: The REST API is "
        "not enabled for this Organization.)",
    ),
}

CASES_ON_NEW_TOPICS = "writer without Create on Task"


def _run(
    verb: str, env: dict[str, str], settings: Path
) -> subprocess.CompletedProcess[str]:
    args = [str(settings)] if verb == "settings apply" else []
    try:
        return subprocess.run(
            cli_argv(*verb.split(), *args),
            env=os.environ | env | {"METRICS_PORT": "0", "PYTHONUNBUFFERED": "1"},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        # Not stopped at start-up: it went on to work without the grant.
        out = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr
        return subprocess.CompletedProcess(exc.cmd, -1, "", f"timed out\n{out or ''}")


def _problem(done: subprocess.CompletedProcess[str], expected: str) -> str | None:
    """None when the verb stopped with exit 2 and, last, the one expected line."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("engage-sync: ")]
    if (
        done.returncode == 2
        and len(ours) == 1
        and lines[-1] == ours[0]
        and expected in ours[0]
        and "Traceback" not in done.stderr
    ):
        return None
    return f"exit {done.returncode}, stderr {done.stderr[-600:]!r}"


def test_each_missing_grant_edition_or_api_access_stops_its_verb_with_one_line(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    from sandbox.org import SandboxOrg

    settings = tmp_path / "crm.yaml"
    settings.write_text(STATUS_WRITTEN)
    with ExitStack() as stack:
        envs = {}
        for n, (case, (_, access, _)) in enumerate(CASES.items()):
            org = stack.enter_context(SandboxOrg(tmp_path / f"org{n}"))
            admin = SandboxAdmin(org.url, org.ca_path)
            admin.set_access(**access)
            admin.close()
            envs[case] = kafka_env(kafka_settings) | salesforce_env(org)
        # A first start on a cluster without our topics gets as far as the check.
        first_start = CASES_ON_NEW_TOPICS
        envs[first_start] |= {"KAFKA_TOPIC_PREFIX": f"new{uuid.uuid4().hex[:8]}."}
        with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
            runs = {
                case: pool.submit(_run, CASES[case][0], envs[case], settings)
                for case in CASES
            }
            results = {case: run.result() for case, run in runs.items()}
    problems = {
        case: problem
        for case, done in results.items()
        if (problem := _problem(done, CASES[case][2])) is not None
    }
    assert problems == {}
