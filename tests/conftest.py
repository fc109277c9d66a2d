"""Shared fixtures: a session Kafka broker, fresh topics, the sandbox org, processes."""

from __future__ import annotations

import json
import os
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
from engage_sync.supervisor import Child, Supervisor, cli_argv
from ground.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


_APACHE_SKIPPED: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tansu: also runs on the embedded Tansu broker (a Tansu-specific path or "
        "the `make run` path); every broker test runs on Apache Kafka",
    )


# ENGAGE_SYNC_BROKERS picks the part of the broker tiers a run covers: `apache`
# (every broker test on Apache Kafka), `tansu` (the `tansu`-marked tests on Tansu)
# or, unset, both in one run. `make test` runs them as two timed parts.
def _brokers_mode() -> str:
    mode = os.environ.get("ENGAGE_SYNC_BROKERS", "both").strip().lower() or "both"
    if mode not in ("apache", "tansu", "both"):
        raise pytest.UsageError(f"ENGAGE_SYNC_BROKERS={mode!r}: apache, tansu or both")
    return mode


def _broker_kinds(metafunc: pytest.Metafunc) -> list[str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return ["external"]
    mode = _brokers_mode()
    tansu = metafunc.definition.get_closest_marker("tansu") is not None
    kinds = [] if mode == "tansu" else ["apache"]
    if tansu and mode != "apache":
        kinds.append("tansu")
    return kinds


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """In a one-broker part, leave out what belongs to the other part: on `tansu`,
    every test not marked `tansu`; on `apache`, the `tansu` tests that bring their
    own embedded broker (the `make run` path) rather than a broker fixture."""
    mode = _brokers_mode()
    if mode == "both" or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return
    keep, drop = [], []
    for item in items:
        marked = item.get_closest_marker("tansu") is not None
        uses_broker = "broker_kind" in getattr(item, "fixturenames", ())
        if mode == "tansu":
            wanted = marked
        else:
            wanted = not (marked and not uses_broker)
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a broker runs on Apache Kafka; `tansu` ones on both."""
    if "broker_kind" in metafunc.fixturenames:
        metafunc.parametrize(
            "broker_kind", _broker_kinds(metafunc), indirect=True, scope="session"
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    reasons = list(_APACHE_SKIPPED)
    # Under pytest-xdist the skips happened in the workers: read their reports.
    for report in terminalreporter.stats.get("skipped", []):
        text = str(getattr(report, "longrepr", ""))
        if "Apache Kafka tier skipped: " in text:
            reasons.append(text.split("Apache Kafka tier skipped: ", 1)[1].rstrip("')"))
    if reasons:
        terminalreporter.write_line(
            f"Apache Kafka tier skipped: {reasons[0]} "
            "(install Java 17+ and Maven to run it; under CI=true this fails)"
        )


@pytest.fixture(scope="session")
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Apache Kafka 4.x from scripts/kafka-broker (or testcontainers, with Docker)."""
    from tests.brokers import ApacheKafka, BrokerUnavailable, in_ci

    try:
        broker = ApacheKafka(tmp_path_factory.mktemp("apache-kafka")).start()
    except BrokerUnavailable as exc:
        if _docker_engine_answers():
            from testcontainers.kafka import KafkaContainer

            with KafkaContainer().with_kraft() as kafka:
                yield kafka.get_bootstrap_server()
            return
        if in_ci():
            pytest.fail(f"Apache Kafka is required under CI=true: {exc}")
        _APACHE_SKIPPED.append(str(exc))
        pytest.skip(f"Apache Kafka tier skipped: {exc}")
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def tansu_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from connectors.kafka.embedded import EmbeddedBroker

    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    # Through the supervisor, so the broker does not outlive a killed test run.
    with (
        Supervisor() as supervisor,
        EmbeddedBroker(
            log_path=log,
            spawn=lambda argv, log: supervisor.start("tansu", argv, log=log).popen,
        ) as broker,
    ):
        yield broker.bootstrap


@pytest.fixture(scope="session")
def kafka_bootstrap(broker_kind: str, request: pytest.FixtureRequest) -> str:
    """The broker of this parametrization: Apache Kafka, Tansu, or
    KAFKA_BOOTSTRAP_SERVERS (then every test runs on that one broker)."""
    if broker_kind == "external":
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    return str(
        request.getfixturevalue(
            "apache_kafka" if broker_kind == "apache" else "tansu_broker"
        )
    )


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


# A process the tests started: its name, `popen` and log file.
Proc = Child


@dataclass
class Processes:
    """Runs `engage-sync` subcommands as real processes through the supervisor;
    stops leftovers at teardown (and they die with pytest, however it ends)."""

    tmp: Path
    supervisor: Supervisor = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.tmp, cwd=REPO)

    @property
    def running(self) -> list[Proc]:
        return self.supervisor.children

    def start(self, command: str, env: dict[str, str], name: str | None = None) -> Proc:
        name = name or f"{command}-{len(self.running)}"
        return self.supervisor.start(name, cli_argv(command), env)

    def stop(self, proc: Proc, timeout: float = 30) -> int:
        return self.supervisor.stop([proc], grace=timeout)[proc.name]

    def kill9(self, proc: Proc) -> None:
        self.supervisor.kill9(proc)

    def stop_all(self) -> None:
        self.supervisor.stop_all(grace=15)
        self.supervisor.close()


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
