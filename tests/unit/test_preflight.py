"""The start-up check: librdkafka's errors -> one line naming the setting to fix."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError

from connectors.kafka import preflight
from connectors.kafka.embedded import free_port
from ground.settings import ConfigError
from sandbox.tls import server_context
from tests.unit.kafka_factories import PASSWORD, kafka_settings, sasl, tls_dir

__all__ = ["tls_dir"]  # the fixture, used by name


AUTH_FAILED = (
    "sasl_ssl://b1:9093/bootstrap: SASL authentication error: Authentication failed "
    "during authentication due to invalid credentials with SASL mechanism "
    "SCRAM-SHA-512 (after 309ms in state AUTH_REQ)"
)
CERT_FAILED = (
    "sasl_ssl://b1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL "
    "routines::certificate verify failed: broker certificate could not be verified"
)
NO_MECHANISM = (
    "sasl_ssl://b1:9093/bootstrap: SASL PLAIN mechanism handshake failed: Broker: "
    "Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512"
)
TLS_TO_PLAINTEXT = (
    "b1:9093/bootstrap: SSL handshake failed: Disconnected: SSL connection closed by "
    "peer: connecting to a PLAINTEXT broker listener? (after 2ms)"
)


@pytest.mark.parametrize(
    ("code", "text", "names", "certain"),
    [
        (KafkaError._AUTHENTICATION, AUTH_FAILED, "KAFKA_SASL_PASSWORD", True),
        (KafkaError._AUTHENTICATION, NO_MECHANISM, "KAFKA_SASL_MECHANISM", True),
        (KafkaError._SSL, CERT_FAILED, "KAFKA_SSL_CA_FILE", True),
        (KafkaError._TRANSPORT, CERT_FAILED, "KAFKA_SSL_CA_FILE", True),
        (KafkaError._SSL, TLS_TO_PLAINTEXT, "KAFKA_SECURITY_PROTOCOL", False),
    ],
)
def test_librdkafka_errors_are_classified_to_the_setting_to_fix(
    code: int, text: str, names: str, certain: bool, tls_dir: Path
) -> None:
    settings = sasl(KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"))

    failure = preflight.classify(code, text, settings)

    assert failure.fix is not None and names in failure.fix
    assert failure.certain is certain
    assert PASSWORD not in failure.fix + failure.detail


def test_refused_connections_are_not_blamed_on_a_setting_at_once() -> None:
    failure = preflight.classify(
        KafkaError._TRANSPORT,
        "b1:9093/bootstrap: Connect to ipv4#10.0.0.1:9093 failed: Connection refused",
        kafka_settings(),
    )

    assert failure.fix is None and not failure.certain


def test_refused_connections_are_one_line_naming_the_servers_after_the_deadline(
    tls_dir: Path,
) -> None:
    settings = sasl(KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem")).model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{free_port()}"}
    )

    with pytest.raises(ConfigError) as raised:
        preflight.check_kafka(settings, timeout=1.0)

    message = raised.value.message
    assert "\n" not in message and PASSWORD not in message
    assert message.startswith(f"cannot reach Kafka at {settings.bootstrap_servers}")
    assert "Connection refused" in message
    assert message.endswith("check KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture
def mtls_server(tls_dir: Path) -> Iterator[str]:
    """A TLS listener that demands a client certificate (as MSK's mTLS port does)
    and drops clients without one; yields its host:port."""
    context = server_context(tls_dir)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(tls_dir / "ca.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True).close()
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_brokers_requiring_a_client_certificate_name_the_cert_settings(
    mtls_server: str, tls_dir: Path
) -> None:
    """librdkafka only logs the broker's TLS alert (no error event): the check
    reads its log lines too."""
    settings = kafka_settings(
        KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem")
    ).model_copy(update={"bootstrap_servers": mtls_server})

    with pytest.raises(ConfigError) as raised:
        preflight.check_kafka(settings, timeout=10)

    message = raised.value.message
    assert message.startswith("the brokers refused the client certificate")
    assert "check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE" in message
    assert "alert certificate required" in message


def test_silence_names_the_protocol_and_client_certificates() -> None:
    """A listener that accepts and never answers (a plaintext client at a TLS port
    gets this): no event, no log line, so the likely settings are named."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        settings = kafka_settings(KAFKA_SECURITY_PROTOCOL="SSL").model_copy(
            update={"bootstrap_servers": f"127.0.0.1:{listener.getsockname()[1]}"}
        )
        with pytest.raises(ConfigError) as raised:
            preflight.check_kafka(settings, timeout=1.0)
    finally:
        listener.close()

    message = raised.value.message
    assert message.startswith("no answer from Kafka at 127.0.0.1:")
    assert "KAFKA_SECURITY_PROTOCOL (now SSL)" in message
    assert "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE" in message
