"""Factories for Kafka security settings in unit tests: settings, a CA + cert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ground.settings import KafkaSettings, load
from sandbox.tls import ensure_tls_files

PASSWORD = "s3cret-sasl-password-0042"  # noqa: S105 - a planted test secret


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, and a certificate + unencrypted key signed by it."""
    path = tmp_path_factory.mktemp("tls")
    ensure_tls_files(path, "127.0.0.1")
    return path


def kafka_settings(**env: Any) -> KafkaSettings:
    """Settings factory: a broker list plus the given variables."""
    return load(KafkaSettings, KAFKA_BOOTSTRAP_SERVERS="b1:9093,b2:9093", **env)


def sasl(
    protocol: str = "SASL_SSL", mechanism: str = "SCRAM-SHA-512", **env: Any
) -> KafkaSettings:
    """SASL settings of user `engage` with PASSWORD, plus `env`."""
    return kafka_settings(
        KAFKA_SECURITY_PROTOCOL=protocol,
        KAFKA_SASL_MECHANISM=mechanism,
        KAFKA_SASL_USERNAME="engage",
        KAFKA_SASL_PASSWORD=PASSWORD,
        **env,
    )
