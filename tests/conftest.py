"""Shared fixtures: a session Kafka broker, fresh topics, the sandbox org, processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.kafka.clients import ensure_topics
from connectors.kafka.topics import Topics
from engage_sync.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS if set, else testcontainers (if Docker), else Tansu."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        yield env
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as kafka:
            yield kafka.get_bootstrap_server()
        return
    from connectors.kafka.embedded import EmbeddedBroker

    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


def fresh_namespace(bootstrap: str) -> KafkaSettings:
    """Settings of a new namespace of topics and groups, with its topics created."""
    ns = f"t{uuid.uuid4().hex[:10]}"
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        KAFKA_TOPIC_PREFIX=f"{ns}.",
        KAFKA_GROUP_PREFIX=ns,
        KAFKA_TOPIC_PARTITIONS=4,
        KAFKA_SESSION_TIMEOUT_MS=6000,
    )
    ensure_topics(settings, Topics(settings).all())
    return settings


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    """A fresh namespace of topics and groups for one test, with its topics created."""
    return fresh_namespace(kafka_bootstrap)


def healthz(port: int) -> dict[str, Any]:
    """A process's /healthz document, {} while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return dict(json.loads(r.read()))
    except OSError:
        return {}


def kafka_env(settings: KafkaSettings) -> dict[str, str]:
    return settings.as_env() | {
        # Processes of parallel tests would fight over the default ports; a test
        # that scrapes /metrics sets its own free port.
        "METRICS_PORT": "0",
    }


@pytest.fixture
def sandbox_org(tmp_path: Path) -> Iterator[object]:
    from sandbox.org import SandboxOrg

    org = SandboxOrg(tmp_path / "org", page_size=2000)
    org.start()
    try:
        yield org
    finally:
        org.stop()


def salesforce_env(org: object) -> dict[str, str]:
    """JWT-bearer credentials of the sandbox integration user; trusts its private CA."""
    creds = org.credentials  # type: ignore[attr-defined]
    return {
        "SALESFORCE_LOGIN_URL": org.url,  # type: ignore[attr-defined]
        "SALESFORCE_CLIENT_ID": creds.client_id,
        "SALESFORCE_USERNAME": creds.username,
        "SALESFORCE_PRIVATE_KEY_FILE": str(creds.private_key_path),
        "SALESFORCE_CA_BUNDLE": str(org.ca_path),  # type: ignore[attr-defined]
    }


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Processes:
    """Runs `engage-sync` subcommands as real processes; kills leftovers at teardown."""

    tmp: Path
    running: list[Proc] = field(default_factory=list)

    def start(self, command: str, env: dict[str, str], name: str | None = None) -> Proc:
        name = name or f"{command}-{len(self.running)}"
        log = self.tmp / f"{name}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "engage_sync.cli", command],
            env=os.environ | {"PYTHONUNBUFFERED": "1"} | env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        proc = Proc(name, popen, log)
        self.running.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = 30) -> int:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait()
        return proc.popen.returncode

    def kill9(self, proc: Proc) -> None:
        proc.popen.kill()
        proc.popen.wait()

    def stop_all(self) -> None:
        for proc in self.running:
            self.stop(proc, timeout=15)


@contextmanager
def org_and_processes(tmp: Path) -> Iterator[tuple[Any, Processes]]:
    """A sandbox org and a process runner for a module-scoped scenario; both are
    stopped at the end."""
    from sandbox.org import SandboxOrg

    org = SandboxOrg(tmp / "org", page_size=2000)
    org.start()
    procs = Processes(tmp)
    try:
        yield org, procs
    finally:
        procs.stop_all()
        org.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()
