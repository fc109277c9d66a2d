"""Running an engage-sync verb as a user does: a process of its own, output kept."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from engage_sync.supervisor import cli_argv
from tests.conftest import REPO


def run_verb(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`engage-sync <args>` with `env` over this process's environment.

    Args:
        args: the verb and its arguments, e.g. `"status", "--json"`.
        env: the settings (kafka_env, salesforce_env, ...).
        timeout: seconds before the test fails instead of hanging.
    """
    return subprocess.run(
        cli_argv(*args),
        env=os.environ | dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
