"""The one client-config builder: security settings -> librdkafka, faust, registry."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import faust
import pytest

from connectors.kafka import config
from ground.settings import ConfigError, KafkaSettings, load
from tests.unit.kafka_factories import PASSWORD, kafka_settings, sasl, tls_dir

__all__ = ["tls_dir"]  # the fixture, used by name

KEY_PASSWORD = "s3cret-key-password-0042"  # noqa: S105
REGISTRY_AUTH = "REGKEY123:s3cret-registry-secret-0042"
SECURITY_VARS = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CA_FILE",
    "KAFKA_SSL_CERT_FILE",
    "KAFKA_SSL_KEY_FILE",
    "KAFKA_SSL_KEY_PASSWORD",
    "SCHEMA_REGISTRY_URL",
    "SCHEMA_REGISTRY_BASIC_AUTH",
    "SCHEMA_REGISTRY_CA_FILE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No security setting leaks in from the shell that runs the tests."""
    for var in SECURITY_VARS:
        monkeypatch.delenv(var, raising=False)


def _security_keys(conf: dict[str, Any]) -> dict[str, Any]:
    prefixes = ("security.", "sasl.", "ssl.")
    return {k: v for k, v in conf.items() if k.startswith(prefixes)}


def test_plaintext_gives_only_the_brokers_and_the_protocol() -> None:
    conf = config.librdkafka(kafka_settings())

    assert conf["bootstrap.servers"] == "b1:9093,b2:9093"
    assert _security_keys(conf) == {"security.protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_each_sasl_protocol_and_mechanism_gives_librdkafka_its_login(
    protocol: str, mechanism: str, tls_dir: Path
) -> None:
    ca = {"KAFKA_SSL_CA_FILE": str(tls_dir / "ca.pem")}
    settings = sasl(protocol, mechanism, **(ca if protocol == "SASL_SSL" else {}))

    want = {
        "security.protocol": protocol,
        "sasl.mechanism": mechanism,
        "sasl.username": "engage",
        "sasl.password": PASSWORD,
    }
    if protocol == "SASL_SSL":
        want["ssl.ca.location"] = str(tls_dir / "ca.pem")
    assert _security_keys(config.librdkafka(settings)) == want


def test_ssl_with_a_client_certificate_gives_mutual_tls_keys(tls_dir: Path) -> None:
    settings = kafka_settings(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"),
        KAFKA_SSL_CERT_FILE=str(tls_dir / "server.pem"),
        KAFKA_SSL_KEY_FILE=str(tls_dir / "server.key"),
        KAFKA_SSL_KEY_PASSWORD=KEY_PASSWORD,
    )

    assert _security_keys(config.librdkafka(settings)) == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(tls_dir / "ca.pem"),
        "ssl.certificate.location": str(tls_dir / "server.pem"),
        "ssl.key.location": str(tls_dir / "server.key"),
        "ssl.key.password": KEY_PASSWORD,
    }


def test_tls_files_are_ignored_when_the_protocol_has_no_tls(tls_dir: Path) -> None:
    settings = kafka_settings(KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"))

    assert _security_keys(config.librdkafka(settings)) == {
        "security.protocol": "PLAINTEXT"
    }


def test_overrides_win_and_librdkafka_logs_go_through_python_logging() -> None:
    conf = config.librdkafka(kafka_settings(), **{"group.id": "g", "acks": "all"})

    assert conf["group.id"] == "g" and conf["acks"] == "all"
    assert conf["logger"] is config.LIBRDKAFKA_LOGGER
    assert config.LIBRDKAFKA_LOGGER.name == "librdkafka"


def test_faust_gets_every_broker_and_no_credentials_on_plaintext() -> None:
    kwargs = config.faust_broker(kafka_settings())

    assert kwargs == {"broker": ["kafka://b1:9093", "kafka://b2:9093"]}


def test_faust_gets_sasl_credentials_with_a_context_trusting_the_ca(
    tls_dir: Path,
) -> None:
    settings = sasl(KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"))

    creds = config.faust_broker(settings)["broker_credentials"]

    assert isinstance(creds, faust.SASLCredentials)
    assert creds.protocol.value == "SASL_SSL"
    assert creds.mechanism.value == "SCRAM-SHA-512"
    assert (creds.username, creds.password) == ("engage", PASSWORD)
    context = creds.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in context.get_ca_certs()]
    assert {"commonName": "engage-sync sandbox CA"} in subjects


def test_faust_on_sasl_plaintext_gets_sasl_credentials_without_tls() -> None:
    creds = config.faust_broker(sasl("SASL_PLAINTEXT", "PLAIN"))["broker_credentials"]

    assert creds.protocol.value == "SASL_PLAINTEXT"
    assert creds.mechanism.value == "PLAIN"
    assert creds.ssl_context is None


def test_faust_on_ssl_with_client_certificate_gets_ssl_credentials(
    tls_dir: Path,
) -> None:
    settings = kafka_settings(
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"),
        KAFKA_SSL_CERT_FILE=str(tls_dir / "server.pem"),
        KAFKA_SSL_KEY_FILE=str(tls_dir / "server.key"),
    )

    creds = config.faust_broker(settings)["broker_credentials"]

    assert isinstance(creds, faust.SSLCredentials)
    assert creds.protocol.value == "SSL"
    assert isinstance(creds.context, ssl.SSLContext)
    assert config.ssl_context(kafka_settings()) is None


def test_registry_config_carries_basic_auth_and_ca_file(tls_dir: Path) -> None:
    settings = kafka_settings(
        SCHEMA_REGISTRY_URL="https://psrc-1.example.confluent.cloud",
        SCHEMA_REGISTRY_BASIC_AUTH=REGISTRY_AUTH,
        SCHEMA_REGISTRY_CA_FILE=str(tls_dir / "ca.pem"),
    )

    assert config.schema_registry(settings) == {
        "url": "https://psrc-1.example.confluent.cloud",
        "basic.auth.user.info": REGISTRY_AUTH,
        "ssl.ca.location": str(tls_dir / "ca.pem"),
    }
    assert config.schema_registry(kafka_settings()) is None
    plain = kafka_settings(SCHEMA_REGISTRY_URL="http://registry:8081")
    assert config.schema_registry(plain) == {"url": "http://registry:8081"}


def _error(**env: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        kafka_settings(**env)
    message = raised.value.message
    assert "\n" not in message
    return message


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_without_a_password_is_one_line_naming_both_variables(
    protocol: str,
) -> None:
    message = _error(KAFKA_SECURITY_PROTOCOL=protocol, KAFKA_SASL_USERNAME="engage")

    assert f"KAFKA_SECURITY_PROTOCOL={protocol} needs" in message
    assert "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in message


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SSL_CA_FILE": "/nowhere/ca.pem"}, "KAFKA_SSL_CA_FILE"),
        ({"SCHEMA_REGISTRY_CA_FILE": "/nowhere/ca.pem"}, "SCHEMA_REGISTRY_CA_FILE"),
        ({"SCHEMA_REGISTRY_BASIC_AUTH": "no-colon"}, "SCHEMA_REGISTRY_BASIC_AUTH"),
    ],
)
def test_a_bad_security_value_is_one_line_naming_the_variable(
    env: dict[str, str], names: str
) -> None:
    assert _error(**env).startswith(f"{names}: ")


def test_a_client_certificate_without_its_key_is_one_line_naming_both(
    tls_dir: Path,
) -> None:
    message = _error(
        KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CERT_FILE=str(tls_dir / "server.pem")
    )

    assert "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together" in message


def test_a_registry_secret_without_colon_is_not_echoed_in_the_error() -> None:
    secret = "s3cret-without-a-colon-0042"

    assert secret not in _error(SCHEMA_REGISTRY_BASIC_AUTH=secret)


def test_passwords_can_come_from_secret_files(tmp_path: Path) -> None:
    (tmp_path / "KAFKA_SASL_PASSWORD").write_text(PASSWORD)
    (tmp_path / "SCHEMA_REGISTRY_BASIC_AUTH").write_text(REGISTRY_AUTH)

    settings = KafkaSettings(
        _secrets_dir=tmp_path,
        KAFKA_BOOTSTRAP_SERVERS="b1:9093",
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_USERNAME="engage",
    )

    assert config.librdkafka(settings)["sasl.password"] == PASSWORD
    assert settings.schema_registry_basic_auth is not None
    assert settings.schema_registry_basic_auth.get_secret_value() == REGISTRY_AUTH


def test_settings_and_faust_credentials_never_show_the_secrets(tls_dir: Path) -> None:
    settings = sasl(
        KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"),
        KAFKA_SSL_KEY_PASSWORD=KEY_PASSWORD,
        SCHEMA_REGISTRY_URL="https://registry.example",
        SCHEMA_REGISTRY_BASIC_AUTH=REGISTRY_AUTH,
    )
    creds = config.faust_broker(settings)["broker_credentials"]

    shown = " ".join(
        [repr(settings), str(settings), repr(creds), str(creds), f"{settings!r}"]
    )

    for secret in (PASSWORD, KEY_PASSWORD, REGISTRY_AUTH, REGISTRY_AUTH.split(":")[1]):
        assert secret not in shown
    assert "engage" in repr(creds)  # the user name is shown: that is not a secret


def test_child_env_round_trips_the_security_settings(tls_dir: Path) -> None:
    settings = sasl(
        KAFKA_SSL_CA_FILE=str(tls_dir / "ca.pem"),
        SCHEMA_REGISTRY_URL="https://registry.example",
        SCHEMA_REGISTRY_BASIC_AUTH=REGISTRY_AUTH,
    )

    again = load(KafkaSettings, **settings.as_env())

    assert config.librdkafka(again) == config.librdkafka(settings)
    assert config.schema_registry(again) == config.schema_registry(settings)
