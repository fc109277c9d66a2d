"""Start-up checks: can this process reach, trust and log in to Kafka and the registry?

librdkafka never gives up on a wrong password or an untrusted certificate: it logs a
FAIL line and retries forever, so a process started with a bad credential would hang
or print the same error every second. Every process calls `check_kafka` (and
`check_registry`) before its first real client, and a failure becomes one
`ConfigError` line that names the setting to fix. The check's own client prints
nothing (its error events and log lines are read, not shown), so that line is the
only output.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from connectors.kafka import config as kafka_config
from ground.settings import ConfigError, KafkaSettings

# The check's librdkafka logger: read by `_Collect`, never shown (ConfigError reports).
_SILENT = logging.getLogger("engage_sync.preflight.librdkafka")
_SILENT.addHandler(logging.NullHandler())
_SILENT.propagate = False

DEFAULT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Failure:
    """What a librdkafka error event says about the settings: the fix (None: no
    idea), and whether it is certain or only likely if the error persists (a broker
    still starting refuses connections for a while)."""

    fix: str | None
    detail: str
    certain: bool = True


def classify(code: int, text: str, settings: KafkaSettings) -> Failure:
    """Turn one librdkafka error event or log line (code 0) into the setting it
    points at.

    librdkafka reports a refused SASL login as _AUTHENTICATION (also an unsupported
    mechanism), an unverifiable certificate as _SSL (sometimes as _TRANSPORT whose
    text says "certificate verify failed"), and a plaintext client talking to a TLS
    listener as _TRANSPORT mentioning security.protocol; a broker's TLS alert about
    our client certificate appears only in its log lines.
    """
    detail = text.split(": ", 1)[-1] if ": " in text else text
    lowered = text.lower()
    if code == KafkaError._AUTHENTICATION:
        if "mechanism" in lowered and "unsupported" in lowered:
            return Failure(
                f"the brokers do not offer SASL mechanism {settings.sasl_mechanism}: "
                "check KAFKA_SASL_MECHANISM",
                detail,
            )
        return Failure(
            f"Kafka refused the SASL login of user {settings.sasl_username!r} "
            f"({settings.sasl_mechanism}): check KAFKA_SASL_USERNAME and "
            "KAFKA_SASL_PASSWORD",
            detail,
        )
    if "security.protocol" in lowered or "plaintext broker listener" in lowered:
        return Failure(
            f"the brokers at {settings.bootstrap_servers} do not speak "
            f"{settings.security_protocol}: check KAFKA_SECURITY_PROTOCOL",
            detail,
            certain=False,
        )
    if any(alert in lowered for alert in _CLIENT_CERT_ALERTS):
        return Failure(
            "the brokers refused the client certificate (or its absence): check "
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE",
            detail,
        )
    if code == KafkaError._SSL or "certificate verify failed" in lowered:
        return Failure(_tls_fix(settings), detail)
    return Failure(None, detail, certain=False)


# TLS alerts a broker sends when it requires a client certificate and got none or
# one it does not trust. librdkafka logs these ("Receive failed: ... tlsv13 alert
# certificate required") without an error event.
_CLIENT_CERT_ALERTS = (
    "alert certificate required",
    "alert bad certificate",
    "alert unknown ca",
    "alert certificate unknown",
)


class _Collect(logging.Handler):
    """Classifies each librdkafka log line of the check's client into `seen`."""

    def __init__(self, seen: list[Failure], settings: KafkaSettings) -> None:
        super().__init__(logging.WARNING)
        self.seen, self.settings = seen, settings

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(classify(0, record.getMessage(), self.settings))


def _tls_fix(settings: KafkaSettings) -> str:
    if settings.ssl_ca_file is None:
        return (
            "the brokers' TLS certificate is not trusted by the system CAs: set "
            "KAFKA_SSL_CA_FILE to the CA that signed it"
        )
    return (
        f"the brokers' TLS certificate is not signed by {settings.ssl_ca_file}: "
        "check KAFKA_SSL_CA_FILE"
    )


def check_kafka(settings: KafkaSettings, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Connect, trust and authenticate to the brokers, or stop with one line.

    Args:
        settings: the process's Kafka settings.
        timeout: how long unreachable brokers may take to answer (auth and TLS
            failures are reported as soon as librdkafka sees them).

    Raises:
        ConfigError: the login was refused, the certificate is not trusted, the
            protocol does not match, or no broker answered within `timeout`.
    """
    seen: list[Failure] = []
    conf = kafka_config.librdkafka(
        settings,
        logger=_SILENT,
        error_cb=lambda err: seen.append(classify(err.code(), err.str(), settings)),
        # Only the check's own waits, not librdkafka's long backoff, decide.
        **{
            "reconnect.backoff.max.ms": 1000,
            "socket.connection.setup.timeout.ms": 10_000,
        },
    )
    collect = _Collect(seen, settings)
    _SILENT.addHandler(collect)
    try:
        client = AdminClient(conf)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.list_topics(timeout=min(2.0, timeout)).brokers:
                    return
            except KafkaException:
                pass  # the error events and log lines say why
            client.poll(0)
            certain = next((f for f in seen if f.certain and f.fix), None)
            if certain is not None:
                raise ConfigError(f"{certain.fix} ({certain.detail})")
            if time.monotonic() >= deadline:
                raise ConfigError(_unreachable(settings, seen, timeout))
    finally:
        _SILENT.removeHandler(collect)


def _unreachable(settings: KafkaSettings, seen: list[Failure], timeout: float) -> str:
    likely = next((f for f in seen if f.fix), None)
    if likely is not None:
        return f"{likely.fix} ({likely.detail})"
    details = [f.detail for f in seen if "brokers are down" not in f.detail]
    where = f"Kafka at {settings.bootstrap_servers} within {timeout:.0f} s"
    if details:  # refused, unresolvable, timed out: the address is wrong or down
        return f"cannot reach {where} ({details[-1]}): check KAFKA_BOOTSTRAP_SERVERS"
    # Silence, no error event at all: what a plaintext client gets from a TLS
    # listener, and a TLS client without a certificate from brokers requiring one.
    fix = f"KAFKA_SECURITY_PROTOCOL (now {settings.security_protocol})"
    if settings.uses_tls and settings.ssl_cert_file is None:
        fix += (
            ", or KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE if the brokers "
            "require client certificates"
        )
    return f"no answer from {where}: check KAFKA_BOOTSTRAP_SERVERS and {fix}"


def check_registry(settings: KafkaSettings) -> None:
    """Reach and log in to the Schema Registry (when one is set), or stop with one
    line naming SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_BASIC_AUTH or
    SCHEMA_REGISTRY_CA_FILE.

    Raises:
        ConfigError: the registry refused the credentials, its certificate is not
            trusted, or it cannot be reached.
    """
    conf = kafka_config.schema_registry(settings)
    if conf is None:
        return
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    url = settings.schema_registry_url
    client = SchemaRegistryClient(conf)
    try:
        # Needs a login but no permission on any subject (an API key limited to our
        # subjects passes).
        client.get_schema_types()
    except SchemaRegistryError as exc:
        if exc.http_status_code == 401:
            raise ConfigError(
                f"the Schema Registry at {url} refused the credentials (HTTP 401): "
                "check SCHEMA_REGISTRY_BASIC_AUTH"
            ) from None
        if exc.http_status_code == 403:
            raise ConfigError(
                f"the Schema Registry at {url} does not permit these credentials "
                "(HTTP 403): check SCHEMA_REGISTRY_BASIC_AUTH and the key's role"
            ) from None
        raise ConfigError(
            f"the Schema Registry at {url} answered HTTP {exc.http_status_code}: "
            "check SCHEMA_REGISTRY_URL"
        ) from None
    except Exception as exc:  # noqa: BLE001 - httpx/ssl errors: one line each
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify" in text:
            raise ConfigError(
                f"the Schema Registry's TLS certificate at {url} is not trusted: "
                "check SCHEMA_REGISTRY_CA_FILE"
            ) from None
        reason = text.splitlines()[0][:120] if text else type(exc).__name__
        raise ConfigError(
            f"cannot reach the Schema Registry at {url} ({reason}): "
            "check SCHEMA_REGISTRY_URL"
        ) from None
    finally:
        client.close()


def check(settings: KafkaSettings, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Both checks, Kafka first: what every process runs before its real work."""
    settings.require_bootstrap()
    check_kafka(settings, timeout)
    check_registry(settings)
