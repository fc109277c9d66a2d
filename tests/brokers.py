"""The brokers the test tiers run on: Apache Kafka (KRaft, from scripts/kafka-broker)
and the embedded Tansu broker.

Apache Kafka is the broker every broker tier runs on; Tansu runs only the tests
marked `tansu` (its own code paths and the `make run` path). Where Java or Maven is
missing, the Apache tier is skipped with one line, except under CI=true, where that
is a failure.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from connectors.kafka.embedded import free_port

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "kafka-broker"


class BrokerUnavailable(RuntimeError):
    """Apache Kafka cannot run on this machine (the message says why)."""


def apache_kafka_missing() -> str | None:
    """Why Apache Kafka cannot run here (java or mvn missing), or None."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "check"], capture_output=True, text=True
    )
    return proc.stdout.strip() or None if proc.returncode else None


@dataclass
class SaslSsl:
    """A SASL_SSL (SCRAM) listener: the broker's PEM certificate/key and its users;
    with `authorizer`, SASL users get only what ACLs allow (PLAINTEXT: everything)."""

    cert: Path
    key: Path
    users: dict[str, str] = field(default_factory=dict)
    authorizer: bool = False


class ApacheKafka:
    """One KRaft broker+controller on loopback, data in `data_dir`, until stop()."""

    def __init__(self, data_dir: Path, sasl_ssl: SaslSsl | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.sasl_ssl = sasl_ssl
        self.sasl_ssl_port = free_port() if sasl_ssl else None
        self.sasl_bootstrap = f"127.0.0.1:{self.sasl_ssl_port}" if sasl_ssl else None
        self.log = data_dir / "broker.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._controller_port = free_port()

    def _command(self) -> list[str]:
        cmd = [
            sys.executable,
            str(SCRIPT),
            "run",
            "--data",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--controller-port",
            str(self._controller_port),
        ]
        if self.sasl_ssl is not None:
            cmd += [
                "--sasl-ssl-port",
                str(self.sasl_ssl_port),
                "--cert",
                str(self.sasl_ssl.cert),
                "--key",
                str(self.sasl_ssl.key),
            ]
            for user, password in self.sasl_ssl.users.items():
                cmd += ["--scram-user", f"{user}:{password}"]
            if self.sasl_ssl.authorizer:
                cmd.append("--authorizer")
        return cmd

    def start(self, timeout: float = 180.0) -> ApacheKafka:
        """Start (fetching the jars the first time) and wait until it answers."""
        why = apache_kafka_missing()
        if why:
            raise BrokerUnavailable(why)
        fetch = subprocess.run(
            [sys.executable, str(SCRIPT), "fetch"], capture_output=True, text=True
        )
        if fetch.returncode:
            raise BrokerUnavailable((fetch.stderr or fetch.stdout).strip())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            self._command(),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Refused connections until the broker listens: polled for, not printed.
        quiet = logging.getLogger("tests.brokers.librdkafka")
        quiet.addHandler(logging.NullHandler())
        quiet.propagate = False
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "logger": quiet})
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"Apache Kafka exited with {self._proc.returncode}: "
                    + self.log.read_text(errors="replace")[-2000:]
                )
            try:
                if admin.list_topics(timeout=1).brokers:
                    return self
            except Exception:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Apache Kafka did not answer in {timeout:.0f} s")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a controlled shutdown), SIGKILL after `timeout`."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL the broker (and its supervisor) at once: it vanishes mid-request,
        connections reset, as a crashed broker does. `start()` brings it back on the
        same ports and data."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def __enter__(self) -> ApacheKafka:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
