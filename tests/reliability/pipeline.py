"""The worker and writer as real processes, watched for exits the test did not cause."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import Proc, Processes

# A process that keeps dying on its own is not going to recover in this run.
MAX_CRASHES = 6


@dataclass
class Crash:
    name: str
    exit_code: int
    last_lines: list[str]

    def __str__(self) -> str:
        tail = " | ".join(self.last_lines)
        return f"{self.name} exited with {self.exit_code} on its own: {tail[-700:]}"


@dataclass
class Pipeline:
    """Runs one worker and one writer; restarts either after a kill or a crash.

    A crash (an exit nobody asked for) is recorded and the process restarted, as a
    supervisor would, so the scenario still ends with lost/duplicated counts; the
    test then asserts there were no crashes.
    """

    processes: Processes
    env: dict[str, str]
    current: dict[str, Proc] = field(default_factory=dict)
    started: list[Proc] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    crashes: list[Crash] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)

    def start(self, role: str, extra_env: dict[str, str] | None = None) -> Proc:
        n = sum(1 for p in self.started if p.name.startswith(f"{role}-")) + 1
        proc = self.processes.start(
            role, self.env | (extra_env or {}), name=f"{role}-{n}"
        )
        self.current[role] = proc
        self.started.append(proc)
        return proc

    def start_all(self) -> None:
        self.start("worker")
        self.start("writer")

    def kill9_and_restart(
        self, role: str, before_restart: Callable[[], object] | None = None
    ) -> None:
        """`kill -9` the role's process at this moment, then start a new one."""
        proc = self.current[role]
        self.watch()
        self.processes.kill9(proc)
        self.exit_codes[proc.name] = proc.popen.returncode
        self.kills[role] += 1
        if before_restart is not None:
            before_restart()
        self.start(role)

    def sigterm_and_restart(self, role: str, within: float = 30.0) -> None:
        """SIGTERM the role's process, require it gone within `within` seconds (the
        stop deadline a supervisor grants before SIGKILL), then start a new one."""
        self.watch()
        proc = self.current[role]
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.popen.wait(within)
        except subprocess.TimeoutExpired:
            self.processes.kill9(proc)
            raise AssertionError(
                f"{proc.name} still running {within:.0f} s after SIGTERM: "
                + " | ".join(proc.output().strip().splitlines()[-4:])[-700:]
            ) from None
        self.exit_codes[proc.name] = proc.popen.returncode
        self.restarts[role] += 1
        self.start(role)

    def watch(self) -> bool:
        """Record (and restart) any process that exited on its own; always True.

        Call it from wait probes so a crash is seen while the scenario runs.
        """
        for role, proc in list(self.current.items()):
            code = proc.popen.poll()
            if code is None:
                continue
            self.exit_codes[proc.name] = code
            lines = proc.output().strip().splitlines()[-4:]
            self.crashes.append(Crash(proc.name, code, lines))
            if len(self.crashes) > MAX_CRASHES:
                raise AssertionError(
                    "processes keep crashing:\n" + "\n".join(map(str, self.crashes))
                )
            self.start(role)
        return True

    def alive(self) -> bool:
        return all(p.popen.poll() is None for p in self.current.values())

    def stop(self, timeout: float = 30.0) -> dict[str, int]:
        """SIGTERM every running process at once; exit codes by process name."""
        self.watch()
        running = list(self.current.values())
        codes = self.processes.supervisor.stop(running, grace=timeout)
        self.exit_codes.update(codes)
        self.current.clear()
        return codes

    def logs(self, role: str | None = None) -> list[Path]:
        return [
            p.log for p in self.started if role is None or p.name.startswith(f"{role}-")
        ]

    def crash_report(self) -> str:
        return "\n".join(map(str, self.crashes)) or "none"
