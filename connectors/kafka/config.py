"""The one place that turns `KafkaSettings` into client configuration.

Every librdkafka client (producer, consumer, admin), faust's app and the Schema
Registry client get their connection and security options from here, so a new option
(a SASL mechanism, a CA file) is one change. Secrets leave their `SecretStr` only in
the dicts handed to a client; nothing here logs them.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from ground.settings import KafkaSettings

# librdkafka's own log lines (FAIL, ERROR, ...) go through Python logging under this
# name, in the process's log format, instead of librdkafka's bare stderr printer.
LIBRDKAFKA_LOGGER = logging.getLogger("librdkafka")


def librdkafka(settings: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """Connection + security options of a librdkafka client, then `overrides`."""
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.require_bootstrap(),
        "security.protocol": settings.security_protocol,
        "logger": LIBRDKAFKA_LOGGER,
    }
    if settings.uses_sasl:
        assert settings.sasl_password is not None  # the settings check this
        conf |= {
            "sasl.mechanism": settings.sasl_mechanism,
            "sasl.username": settings.sasl_username,
            "sasl.password": settings.sasl_password.get_secret_value(),
        }
    if settings.uses_tls:
        if settings.ssl_ca_file is not None:
            conf["ssl.ca.location"] = str(settings.ssl_ca_file)
        if settings.ssl_cert_file is not None and settings.ssl_key_file is not None:
            conf["ssl.certificate.location"] = str(settings.ssl_cert_file)
            conf["ssl.key.location"] = str(settings.ssl_key_file)
            if settings.ssl_key_password is not None:
                conf["ssl.key.password"] = settings.ssl_key_password.get_secret_value()
    return conf | overrides


def ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of a Python (aiokafka) client, None for plaintext."""
    if not settings.uses_tls:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.ssl_ca_file) if settings.ssl_ca_file else None
    )
    if settings.ssl_cert_file is not None and settings.ssl_key_file is not None:
        context.load_cert_chain(
            str(settings.ssl_cert_file),
            str(settings.ssl_key_file),
            password=(
                settings.ssl_key_password.get_secret_value()
                if settings.ssl_key_password is not None
                else None
            ),
        )
    return context


def faust_broker(settings: KafkaSettings) -> dict[str, Any]:
    """`faust.App` keyword arguments: broker URLs and credentials."""
    import faust

    hosts = settings.require_bootstrap().split(",")
    kwargs: dict[str, Any] = {"broker": [f"kafka://{h.strip()}" for h in hosts]}
    context = ssl_context(settings)
    if settings.uses_sasl:
        assert settings.sasl_password is not None
        kwargs["broker_credentials"] = faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=settings.sasl_mechanism,
        )
    elif context is not None:
        kwargs["broker_credentials"] = faust.SSLCredentials(context)
    return kwargs


def schema_registry(settings: KafkaSettings) -> dict[str, Any] | None:
    """confluent-kafka `SchemaRegistryClient` config, None when no registry is set."""
    if not settings.schema_registry_url:
        return None
    conf: dict[str, Any] = {"url": settings.schema_registry_url}
    if settings.schema_registry_basic_auth is not None:
        conf["basic.auth.user.info"] = (
            settings.schema_registry_basic_auth.get_secret_value()
        )
    if settings.schema_registry_ca_file is not None:
        conf["ssl.ca.location"] = str(settings.schema_registry_ca_file)
    return conf
