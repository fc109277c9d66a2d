"""The supervisor's children die with it, however it dies; stubborn ones are killed."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from engage_sync.supervisor import Supervisor
from tests.waiting import wait_until

# A supervisor in a process of its own, so the test can SIGKILL it: it starts one
# child (argv[3]) with its output in <argv[4]>/child.log and prints the child's pid.
SUPERVISOR = """
import sys, time
from pathlib import Path
from engage_sync.supervisor import Supervisor
s = Supervisor(Path(sys.argv[4]), grace=float(sys.argv[2]), deathsig=sys.argv[1] == "1")
print(s.start("child", [sys.executable, "-c", sys.argv[3]]).pid, flush=True)
time.sleep(600)
"""
SLEEPER = "import time; print('ready', flush=True); time.sleep(600)"
# What an `engage-sync` verb does first (cli.main), then ignores SIGTERM or not.
WATCHER = """
import signal, sys, time
from engage_sync.supervisor import watch_parent
if sys.argv[1:] == ["stubborn"]:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
watch_parent()
print('ready', flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_supervisor_with_child(
    tmp_path: Path, child: str, deathsig: bool, grace: float = 30.0
) -> int:
    """Start a supervisor process with `child`, SIGKILL it once the child is ready;
    the child's pid."""
    with Supervisor(tmp_path) as outer:
        logs = tmp_path / "inner"
        logs.mkdir()
        sup = outer.start(
            "supervisor",
            [sys.executable, "-c", SUPERVISOR, str(int(deathsig)), str(grace), child]
            + [str(logs)],
        )
        pid = int(wait_until(lambda: sup.output().strip(), 30, what="child pid"))
        wait_until(
            lambda: "ready" in (logs / "child.log").read_text(),
            30,
            what="the child ready",
        )
        outer.kill9(sup)
    return pid


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkilled_supervisor_takes_any_command_with_it(tmp_path: Path) -> None:
    pid = _kill_supervisor_with_child(tmp_path, SLEEPER, deathsig=True)
    wait_until(lambda: not _alive(pid), 10, what="the child gone")


def test_without_deathsig_an_engage_sync_child_ends_when_its_pipe_closes(
    tmp_path: Path,
) -> None:
    pid = _kill_supervisor_with_child(tmp_path, WATCHER, deathsig=False)
    wait_until(lambda: not _alive(pid), 10, what="the child gone")


def test_orphan_ignoring_sigterm_kills_itself_after_the_grace(tmp_path: Path) -> None:
    child = WATCHER.replace('sys.argv[1:] == ["stubborn"]', "True")
    pid = _kill_supervisor_with_child(tmp_path, child, deathsig=False, grace=1.0)
    wait_until(lambda: not _alive(pid), 15, what="the stubborn child gone")


def test_child_ignoring_sigterm_is_sigkilled_after_the_grace(tmp_path: Path) -> None:
    with Supervisor(tmp_path, grace=1.0) as supervisor:
        child = supervisor.start(
            "stubborn", [sys.executable, "-c", WATCHER, "stubborn"]
        )
        wait_until(lambda: "ready" in child.output(), 30, what="the child ready")
        assert supervisor.stop_all() == {"stubborn": -signal.SIGKILL}


def test_stop_reports_each_childs_exit_code(tmp_path: Path) -> None:
    exits_3 = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    with Supervisor(tmp_path) as supervisor:
        three = supervisor.start("three", [sys.executable, "-c", exits_3])
        done = supervisor.start("done", [sys.executable, "-c", "pass"])
        wait_until(lambda: "ready" in three.output(), 30, what="the child ready")
        assert done.popen.wait(30) == 0
        assert supervisor.dead() is done
        assert supervisor.stop_all() == {"three": 3, "done": 0}


def test_run_returns_the_exit_code(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor:
        code = supervisor.run(
            "once", [sys.executable, "-c", "print('hi'); raise SystemExit(4)"]
        )
        assert code == 4
        assert (tmp_path / "once.log").read_text() == "hi\n"
        assert supervisor.children == []
