"""One supervisor for child processes: start, watch, stop; its children die with it.

`up`, the tests and the benchmarks start every process through `Supervisor`. However
the supervisor ends (Ctrl-C, SIGTERM, SIGHUP, SIGKILL, a crash), each child gets
SIGTERM, and SIGKILL once the grace period has passed:

- on Linux the child asks the kernel for SIGTERM when its parent dies
  (`prctl(PR_SET_PDEATHSIG)`): an `engage-sync` verb does it in `watch_parent()`,
  any other command through a tiny exec wrapper;
- everywhere, an `engage-sync` child watches a pipe whose write end only the
  supervisor holds: EOF means it is gone, so the child sends itself SIGTERM (unless
  the kernel already did), then SIGKILL after the grace period.

Standard library only: it sits below everything else and imports nothing of ours.
"""

from __future__ import annotations

import ctypes
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# Inherited by an `engage-sync` child: the read end of the supervisor's pipe.
PARENT_PIPE_ENV = "ENGAGE_SYNC_PARENT_PIPE"
# "1" when the child should ask for PR_SET_PDEATHSIG itself (Linux, forked from the
# supervisor's main thread).
PARENT_DEATHSIG_ENV = "ENGAGE_SYNC_PARENT_DEATHSIG"
# Seconds the child waits after its own SIGTERM before it SIGKILLs itself.
STOP_GRACE_ENV = "ENGAGE_SYNC_STOP_GRACE"
DEFAULT_GRACE = 30.0
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2

# Execs its arguments after asking for SIGTERM when the parent (argv[1]) dies; if the
# parent is already gone (it died between fork and prctl), it does not start at all.
_DEATHSIG_WRAPPER = (
    "import ctypes,os,sys\n"
    "ctypes.CDLL(None).prctl(1, 15, 0, 0, 0)\n"
    "os.getppid() == int(sys.argv[1]) or sys.exit(143)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def cli_argv(*args: str) -> list[str]:
    """The command line of `engage-sync <args>` with this interpreter."""
    return [sys.executable, "-m", "engage_sync.cli", *args]


@dataclass
class Child:
    """One started process, its name and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """Everything the child wrote so far ('' without a log file)."""
        return self.log.read_text(errors="replace") if self.log else ""


class Supervisor:
    """Starts and stops child processes; they do not outlive it.

    Args:
        logs: Folder for `<name>.log` files (output is dropped when None).
        grace: Seconds between SIGTERM and SIGKILL when stopping.
        cwd: Working folder of the children.
        deathsig: Use PR_SET_PDEATHSIG where the platform has it; False leaves only
            the pipe (as on other platforms).
    """

    def __init__(
        self,
        logs: Path | None = None,
        grace: float = DEFAULT_GRACE,
        cwd: Path | None = None,
        deathsig: bool = True,
    ) -> None:
        self.logs = logs
        self.grace = grace
        self.cwd = cwd
        self.deathsig = deathsig and sys.platform == "linux"
        self.children: list[Child] = []
        # Both ends are close-on-exec; only the read end is passed to children.
        self._read, self._write = os.pipe()

    def start(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
    ) -> Child:
        """Start `argv` as child `name`, in a session of its own (so a Ctrl-C on
        the terminal reaches only the supervisor, which stops it in order).

        Args:
            name: Shown in stop reports; also names the log file.
            argv: The command; `engage-sync` verbs (see `cli_argv`) watch the pipe,
                other commands get only the Linux parent-death signal.
            env: Added to this process's environment.
            log: Output file (appended); default `<logs>/<name>.log`.

        Returns:
            The started child.
        """
        if log is None and self.logs is not None:
            log = self.logs / f"{name}.log"
        # PDEATHSIG fires when the *thread* that forked dies, so only forks from the
        # main thread (which lives as long as the process) may use it.
        deathsig = (
            self.deathsig and threading.current_thread() is threading.main_thread()
        )
        full_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
            PARENT_PIPE_ENV: str(self._read),
            PARENT_DEATHSIG_ENV: "1" if deathsig else "0",
            STOP_GRACE_ENV: str(self.grace),
        }
        is_cli = argv[1:3] == ["-m", "engage_sync.cli"]
        if deathsig and not is_cli:
            argv = [sys.executable, "-c", _DEATHSIG_WRAPPER, str(os.getpid()), *argv]
        out = log.open("ab") if log is not None else None
        try:
            popen = subprocess.Popen(  # noqa: S603 - commands we build ourselves
                argv,
                env=full_env,
                cwd=self.cwd,
                stdout=out if out is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(self._read,),
            )
        finally:
            if out is not None:
                out.close()  # the child has its own copy
        child = Child(name, popen, log)
        self.children.append(child)
        return child

    def cli(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> Child:
        """Start `engage-sync <args>` as child `name`."""
        return self.start(name, cli_argv(*args), env)

    def run(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str] | None = None,
        log: Path | None = None,
        timeout: float | None = None,
    ) -> int:
        """Start a child and wait for it; stopped (and failed) after `timeout`.

        Returns:
            Its exit code (negative: the signal that ended it).
        """
        child = self.start(name, argv, env, log)
        try:
            return child.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop([child])
            raise
        finally:
            self.children.remove(child)

    def dead(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.popen.poll() is not None), None)

    def stop(
        self, children: Iterable[Child], grace: float | None = None
    ) -> dict[str, int]:
        """SIGTERM the children at once (last started first), SIGKILL those still
        running after `grace` seconds.

        Returns:
            Exit code by child name (negative: the signal that ended it).
        """
        chosen = list(children)
        for child in reversed(chosen):
            if child.popen.poll() is None:
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + (self.grace if grace is None else grace)
        for child in chosen:
            try:
                child.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.popen.kill()
                child.popen.wait()
        return {c.name: c.popen.returncode for c in chosen}

    def stop_all(
        self, names: Iterable[str] | None = None, grace: float | None = None
    ) -> dict[str, int]:
        """`stop` every child (or those named); exit codes by name."""
        wanted = None if names is None else set(names)
        return self.stop(
            [c for c in self.children if wanted is None or c.name in wanted], grace
        )

    def kill9(self, child: Child) -> int:
        """SIGKILL one child now and reap it; its exit code."""
        child.popen.kill()
        return child.popen.wait()

    def close(self) -> dict[str, int]:
        """Stop every child, then close the pipe; exit codes by name."""
        codes = self.stop_all()
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass  # closed already: close() twice is fine
        return codes

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def watch_parent(environ: os._Environ[str] = os.environ) -> None:
    """In a supervised `engage-sync` child: end when the supervisor is gone.

    Asks for SIGTERM on the parent's death (Linux), and watches the inherited pipe
    from a daemon thread. Both variables are removed so that our own children (a
    worker's subprocesses) do not take the pipe for theirs.
    """
    raw = environ.pop(PARENT_PIPE_ENV, None)
    deathsig = environ.pop(PARENT_DEATHSIG_ENV, "0") == "1"
    grace = float(environ.pop(STOP_GRACE_ENV, DEFAULT_GRACE))
    if raw is None:
        return  # started by hand, not by a supervisor
    fd = int(raw)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return  # a stale variable, not a pipe we inherited
    except OSError:
        return
    if deathsig:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    os.set_inheritable(fd, False)
    threading.Thread(
        target=_await_eof, args=(fd, grace), name="parent-watch", daemon=True
    ).start()


def _await_eof(fd: int, grace: float) -> None:
    try:
        while os.read(fd, 1):
            pass  # nobody writes; only EOF (the supervisor gone) ends the read
    except OSError:
        pass  # a closed or broken pipe also means it is gone
    if _pdeathsig() != signal.SIGTERM:
        os.kill(os.getpid(), signal.SIGTERM)  # the kernel did not send it already
    time.sleep(grace)  # still here: the grace a supervisor grants is over
    os.kill(os.getpid(), signal.SIGKILL)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _pdeathsig() -> int:
    if sys.platform != "linux":
        return 0
    value = ctypes.c_int(0)
    _libc().prctl(PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)
    return value.value
