"""Failures an operator fixes outside the code read as one line naming the setting."""

from __future__ import annotations

import os
import subprocess

import pytest
import requests
from confluent_kafka import KafkaError, KafkaException

from connectors.salesforce.errors import ErrorKind, FatalError, Problem, RetriableError
from engage_sync.errors import (
    Unreachable,
    one_line,
    require_kafka,
    require_registry,
    require_salesforce,
)
from engage_sync.supervisor import cli_argv
from ground.settings import ConfigError, KafkaSettings, SalesforceSettings
from tests.conftest import REPO
from tests.sockets import closed_port, listening_port


@pytest.fixture(autouse=True)
def _only_the_settings_a_test_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the env too: the machine's must not leak into a test."""
    for name in list(os.environ):
        if name.startswith(("KAFKA_", "SCHEMA_REGISTRY_", "SALESFORCE_")):
            monkeypatch.delenv(name)


def kafka_factory(**env: str) -> KafkaSettings:
    return KafkaSettings(**env)  # type: ignore[arg-type]


def test_a_refused_bootstrap_fails_at_once_naming_the_setting() -> None:
    kafka = kafka_factory(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{closed_port()}")
    with pytest.raises(Unreachable) as failed:
        require_kafka(kafka, timeout=30)
    assert failed.value.code.startswith("engage-sync: cannot reach Kafka at 127.0.0.1")
    assert "Connection refused" in failed.value.code
    assert failed.value.code.endswith("check KAFKA_BOOTSTRAP_SERVERS")
    assert isinstance(failed.value, ConfigError)  # main() exits 2 for it


def test_an_unknown_host_fails_naming_the_setting() -> None:
    kafka = kafka_factory(KAFKA_BOOTSTRAP_SERVERS="no-such-broker.invalid:9092")
    with pytest.raises(Unreachable, match="KAFKA_BOOTSTRAP_SERVERS"):
        require_kafka(kafka)


def test_no_bootstrap_is_the_configuration_error_it_always_was() -> None:
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        require_kafka(kafka_factory())


def test_a_dead_registry_names_its_url_setting() -> None:
    kafka = kafka_factory(
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9092",
        SCHEMA_REGISTRY_URL=f"http://127.0.0.1:{closed_port()}",
    )
    with pytest.raises(ConfigError) as failed:
        require_registry(kafka)
    assert "Connection refused" in failed.value.code
    assert failed.value.code.endswith("check SCHEMA_REGISTRY_URL")


def test_no_registry_set_is_not_checked() -> None:
    require_registry(kafka_factory(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9092"))


def test_a_refusing_org_names_the_url_setting_of_its_flow() -> None:
    settings = SalesforceSettings(  # type: ignore[call-arg]
        SALESFORCE_INSTANCE_URL=f"https://127.0.0.1:{closed_port()}",
        SALESFORCE_ACCESS_TOKEN="x",
    )
    with pytest.raises(Unreachable, match="check SALESFORCE_INSTANCE_URL$"):
        require_salesforce(settings)


def test_an_org_that_accepts_connections_passes_the_check() -> None:
    with listening_port() as port:
        require_salesforce(
            SalesforceSettings(  # type: ignore[call-arg]
                SALESFORCE_INSTANCE_URL=f"https://127.0.0.1:{port}",
                SALESFORCE_ACCESS_TOKEN="x",
            )
        )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            KafkaException(KafkaError(KafkaError._TRANSPORT, "transport failure")),
            "check KAFKA_BOOTSTRAP_SERVERS",
        ),
        (
            RetriableError(
                Problem(ErrorKind.RETRIABLE, "CONNECTION_ERROR", "connection refused")
            ),
            "Salesforce: connection refused: check SALESFORCE_LOGIN_URL",
        ),
        (
            FatalError(
                Problem(
                    ErrorKind.FATAL,
                    "AUTHENTICATION_FAILED",
                    "refused the jwt login: check SALESFORCE_CLIENT_ID",
                )
            ),
            "Salesforce: refused the jwt login: check SALESFORCE_CLIENT_ID",
        ),
        (
            requests.ConnectionError("[Errno 111] Connection refused"),
            "Connection refused",
        ),
    ],
)
def test_known_failures_become_one_line(exc: BaseException, expected: str) -> None:
    line = one_line(exc)
    assert line is not None and "\n" not in line
    assert expected in line


def test_a_bug_keeps_its_traceback() -> None:
    assert one_line(ValueError("a bug")) is None
    assert one_line(KeyError("x")) is None


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    done = subprocess.run(
        cli_argv("--version"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"engage-sync {version('engage-sync')}\n"
    assert done.stderr == ""
