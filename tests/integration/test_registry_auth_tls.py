"""The pipeline's registry client behind basic auth and HTTPS (a private CA).

No broker needed: the Schema Registry stand-in serves HTTPS with a certificate from
`sandbox.tls` and wants `user:password`; the client's settings come from
`SCHEMA_REGISTRY_BASIC_AUTH` and `SCHEMA_REGISTRY_CA_FILE` through the one builder.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.kafka import preflight
from connectors.kafka.serde import CONFLUENT_MAGIC, Serde
from engage_sync.supervisor import cli_argv
from ground.settings import ConfigError, KafkaSettings
from sandbox.registry import RegistryStandIn
from sandbox.tls import ensure_tls_files
from tests.conftest import REPO, kafka_env
from tests.factories import call_event

USER = "SR-API-KEY"
SECRET = "s3cret-registry-api-secret-0042"  # noqa: S105 - a planted test secret
WRONG = "wr0ng-registry-api-secret-0042"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryStandIn]:
    with RegistryStandIn(basic_auth=f"{USER}:{SECRET}", tls_dir=tmp_path / "tls") as r:
        yield r


def registry_settings(registry: RegistryStandIn, **env: str) -> KafkaSettings:
    """Settings factory: the stand-in's URL, its CA and the right credentials."""
    base = {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "SCHEMA_REGISTRY_URL": registry.url,
        "SCHEMA_REGISTRY_BASIC_AUTH": f"{USER}:{SECRET}",
        "SCHEMA_REGISTRY_CA_FILE": str(registry.ca_path),
    }
    return KafkaSettings(**(base | env))


def test_serde_registers_and_decodes_through_an_authenticated_https_registry(
    registry: RegistryStandIn,
) -> None:
    writer = Serde.for_kafka(registry_settings(registry))
    event = call_event()

    data = writer.encode("CallLogged", event)
    # A second process (a fresh client, empty caches) reads it back by schema id.
    decoded = Serde.for_kafka(registry_settings(registry)).decode("CallLogged", data)

    assert data[:1] == CONFLUENT_MAGIC
    assert decoded["event_id"] == event["event_id"]
    assert registry.url.startswith("https://")
    seen = registry.requests
    assert any(r.method == "POST" and r.status == 200 for r in seen)
    assert any(r.path.startswith("/schemas/ids/") and r.status == 200 for r in seen)
    assert all(r.status != 401 for r in seen)


def test_the_registry_refuses_requests_without_or_with_wrong_credentials(
    registry: RegistryStandIn,
) -> None:
    no_auth = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9",
        SCHEMA_REGISTRY_URL=registry.url,
        SCHEMA_REGISTRY_CA_FILE=str(registry.ca_path),
    )
    wrong = registry_settings(registry, SCHEMA_REGISTRY_BASIC_AUTH=f"{USER}:{WRONG}")
    for settings in (no_auth, wrong):
        with pytest.raises(ConfigError) as raised:
            preflight.check_registry(settings)
        message = raised.value.message
        assert "refused the credentials (HTTP 401)" in message
        assert "check SCHEMA_REGISTRY_BASIC_AUTH" in message
        assert WRONG not in message and SECRET not in message
    assert [r.status for r in registry.requests] == [401, 401]


def test_a_ca_file_that_did_not_sign_the_registry_certificate_names_the_setting(
    registry: RegistryStandIn, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca"
    ensure_tls_files(other, "127.0.0.1")
    settings = registry_settings(
        registry, SCHEMA_REGISTRY_CA_FILE=str(other / "ca.pem")
    )

    with pytest.raises(ConfigError) as raised:
        preflight.check_registry(settings)

    assert "check SCHEMA_REGISTRY_CA_FILE" in raised.value.message
    assert registry.requests == []  # refused at the TLS handshake


def test_the_ca_file_is_what_verifies_even_with_a_machine_wide_ca_bundle(
    registry: RegistryStandIn,
) -> None:
    """SSL_CERT_FILE / REQUESTS_CA_BUNDLE point at the system bundle on these
    machines: without the CA file the private certificate is refused, with it
    accepted, so `ssl.ca.location` really reaches the HTTP client."""
    without = registry_settings(registry)
    without.schema_registry_ca_file = None
    assert os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")

    with pytest.raises(ConfigError) as raised:
        preflight.check_registry(without)
    preflight.check_registry(registry_settings(registry))

    assert "SCHEMA_REGISTRY_CA_FILE" in raised.value.message
    assert [r.path for r in registry.requests] == ["/schemas/types"]


def test_a_process_with_wrong_registry_credentials_stops_with_one_line(
    registry: RegistryStandIn, kafka_settings: KafkaSettings
) -> None:
    """A real verb that decodes through the registry (`contacts show`): Kafka
    answers, the registry refuses. (Verbs that never need the registry, such as
    `lag`, are not stopped by it: see the CLI's NO_REGISTRY.)"""
    env = kafka_env(kafka_settings) | {
        "SCHEMA_REGISTRY_URL": registry.url,
        "SCHEMA_REGISTRY_BASIC_AUTH": f"{USER}:{WRONG}",
        "SCHEMA_REGISTRY_CA_FILE": str(registry.ca_path),
    }

    done = subprocess.run(
        cli_argv("contacts", "show", "a@b.example"),
        env=os.environ | env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "check SCHEMA_REGISTRY_BASIC_AUTH" in lines[0]
    assert WRONG not in done.stderr + done.stdout
    assert done.stdout == ""
