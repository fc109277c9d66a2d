"""Tests for typed settings: env loading, one-line config errors, hidden secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from ground.settings import (
    ConfigError,
    KafkaSettings,
    SalesforceSettings,
    WorkerSettings,
    WriterSettings,
    load,
)
from sandbox.settings import SandboxSettings

SETTINGS_CLASSES = (
    KafkaSettings,
    SalesforceSettings,
    WriterSettings,
    WorkerSettings,
    SandboxSettings,
)
TOKEN = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX.LVpxezPwuX5VAIrr"
PASSWORD = "correct-horse-battery-staple"
CLIENT_SECRET = "E1F2A3B4C5D6-client-secret"
INSTANCE = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting leaks in from the shell that runs the tests."""
    for cls in SETTINGS_CLASSES:
        for name, field in cls.model_fields.items():
            for var in {name, name.upper(), field.alias or name}:
                monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "server.key"
    path.write_text(
        "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"
    )
    return path


def _set(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, SALESFORCE_INSTANCE_URL=INSTANCE, SALESFORCE_ACCESS_TOKEN=TOKEN)


def _jwt_env(monkeypatch: pytest.MonkeyPatch, key: Path) -> None:
    _set(
        monkeypatch,
        SALESFORCE_LOGIN_URL=LOGIN,
        SALESFORCE_CLIENT_ID="3MVG9-consumer-key",
        SALESFORCE_USERNAME="integration@acme.example",
        SALESFORCE_PRIVATE_KEY_FILE=str(key),
    )


def _password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(
        monkeypatch,
        SALESFORCE_LOGIN_URL=LOGIN,
        SALESFORCE_CLIENT_ID="3MVG9-consumer-key",
        SALESFORCE_CLIENT_SECRET=CLIENT_SECRET,
        SALESFORCE_USERNAME="integration@acme.example",
        SALESFORCE_PASSWORD=PASSWORD,
    )


def _config_error(cls: type, monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    _set(monkeypatch, **env)
    with pytest.raises(ConfigError) as raised:
        load(cls)
    message = raised.value.message
    assert "\n" not in message
    assert str(raised.value.code) == f"engage-sync: configuration error: {message}"
    return message


def test_kafka_settings_are_read_from_env(clean_env: pytest.MonkeyPatch) -> None:
    _set(
        clean_env,
        KAFKA_BOOTSTRAP_SERVERS="broker-1:9092,broker-2:9093",
        KAFKA_TOPIC_PREFIX="staging.",
        KAFKA_GROUP_PREFIX="acme",
        KAFKA_TOPIC_PARTITIONS="12",
        SCHEMA_REGISTRY_URL="http://registry:8081",
    )

    kafka = load(KafkaSettings)

    assert kafka.bootstrap_servers == "broker-1:9092,broker-2:9093"
    assert kafka.topic_prefix == "staging."
    assert kafka.partitions == 12
    assert kafka.schema_registry_url == "http://registry:8081"
    assert kafka.group("writer") == "acme.writer"


def test_kafka_settings_have_working_defaults() -> None:
    kafka = load(KafkaSettings)

    assert kafka.bootstrap_servers is None
    assert kafka.topic_prefix == ""
    assert kafka.group("activity") == "engage-sync.activity"


def test_overrides_passed_to_load_win_over_env(clean_env: pytest.MonkeyPatch) -> None:
    _set(clean_env, KAFKA_TOPIC_PREFIX="from-env.")

    kafka = load(KafkaSettings, KAFKA_TOPIC_PREFIX="from-code.")

    assert kafka.topic_prefix == "from-code."


@pytest.mark.parametrize(
    "servers",
    ["localhost:9092", "kafka-1.internal:29092, kafka-2.internal:29092", "[::1]:9092"],
)
def test_host_port_bootstrap_lists_are_accepted(
    clean_env: pytest.MonkeyPatch, servers: str
) -> None:
    _set(clean_env, KAFKA_BOOTSTRAP_SERVERS=servers)

    assert load(KafkaSettings).require_bootstrap() == servers


@pytest.mark.parametrize(
    "servers",
    [
        "localhost",
        "localhost:",
        "kafka:port",
        "kafka:9092;kafka2:9092",
        "PLAINTEXT://kafka:9092",
    ],
)
def test_malformed_bootstrap_servers_is_one_line_naming_the_var_and_the_form(
    clean_env: pytest.MonkeyPatch, servers: str
) -> None:
    message = _config_error(KafkaSettings, clean_env, KAFKA_BOOTSTRAP_SERVERS=servers)

    assert message.startswith("KAFKA_BOOTSTRAP_SERVERS: ")
    assert "host:port" in message


@pytest.mark.parametrize("servers", [None, "", "  "])
def test_require_bootstrap_without_servers_says_how_to_set_them(
    clean_env: pytest.MonkeyPatch, servers: str | None
) -> None:
    if servers is not None:
        _set(clean_env, KAFKA_BOOTSTRAP_SERVERS=servers)
    kafka = load(KafkaSettings)

    with pytest.raises(ConfigError) as raised:
        kafka.require_bootstrap()

    assert "KAFKA_BOOTSTRAP_SERVERS is not set" in raised.value.message
    assert "host:port" in raised.value.message
    assert "\n" not in raised.value.message


OUT_OF_RANGE = {
    "no partitions": (KafkaSettings, "KAFKA_TOPIC_PARTITIONS", "0"),
    "batch above the composite limit": (WriterSettings, "WRITER_BATCH_SIZE", "1001"),
    "not a number": (WorkerSettings, "WORKER_BATCH_SIZE", "lots"),
    "port out of range": (SandboxSettings, "SANDBOX_PORT", "70000"),
}


@pytest.mark.parametrize(
    ("cls", "var", "value"), OUT_OF_RANGE.values(), ids=OUT_OF_RANGE.keys()
)
def test_out_of_range_number_is_one_line_naming_the_var(
    clean_env: pytest.MonkeyPatch, cls: type, var: str, value: str
) -> None:
    message = _config_error(cls, clean_env, **{var: value})

    assert message.startswith(f"{var}: ")


def test_token_credentials_give_the_token_flow(clean_env: pytest.MonkeyPatch) -> None:
    _set(
        clean_env, SALESFORCE_INSTANCE_URL=INSTANCE + "/", SALESFORCE_ACCESS_TOKEN=TOKEN
    )

    sf = load(SalesforceSettings)

    assert sf.flow == "token"
    assert sf.instance_url == INSTANCE


def test_key_file_credentials_give_the_jwt_flow(
    clean_env: pytest.MonkeyPatch, key_file: Path
) -> None:
    _jwt_env(clean_env, key_file)

    sf = load(SalesforceSettings)

    assert sf.flow == "jwt"
    assert sf.private_key_file == key_file


def test_password_credentials_give_the_password_flow(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _password_env(clean_env)

    assert load(SalesforceSettings).flow == "password"


def test_token_wins_over_login_credentials(
    clean_env: pytest.MonkeyPatch, key_file: Path
) -> None:
    _jwt_env(clean_env, key_file)
    _token_env(clean_env)

    assert load(SalesforceSettings).flow == "token"


@pytest.mark.parametrize(
    ("given", "expected"), [("59.0", "59.0"), ("v60.0", "60.0"), ("46.0", "46.0")]
)
def test_api_version_is_read_with_or_without_v(
    clean_env: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    _token_env(clean_env)
    _set(clean_env, SALESFORCE_API_VERSION=given)

    assert load(SalesforceSettings).api_version == expected


@pytest.mark.parametrize("version", ["59", "59.1", "45.0", "latest", "v5.0"])
def test_bad_api_version_is_one_line_naming_the_var_and_an_example(
    clean_env: pytest.MonkeyPatch, version: str
) -> None:
    _token_env(clean_env)

    message = _config_error(
        SalesforceSettings, clean_env, SALESFORCE_API_VERSION=version
    )

    assert message.startswith("SALESFORCE_API_VERSION: ")
    assert "59.0" in message


@pytest.mark.parametrize("var", ["SALESFORCE_INSTANCE_URL", "SALESFORCE_LOGIN_URL"])
def test_plain_http_salesforce_url_is_one_line_asking_for_https(
    clean_env: pytest.MonkeyPatch, key_file: Path, var: str
) -> None:
    _jwt_env(clean_env, key_file)
    _token_env(clean_env)

    message = _config_error(
        SalesforceSettings, clean_env, **{var: "http://acme.my.salesforce.com"}
    )

    assert message.startswith(f"{var}: ")
    assert "https://" in message


def test_no_credentials_is_one_line_listing_what_to_set() -> None:
    with pytest.raises(ConfigError) as raised:
        load(SalesforceSettings)

    message = raised.value.message
    assert "\n" not in message
    assert "no Salesforce credentials" in message
    for var in (
        "SALESFORCE_INSTANCE_URL",
        "SALESFORCE_ACCESS_TOKEN",
        "SALESFORCE_LOGIN_URL",
        "SALESFORCE_CLIENT_ID",
        "SALESFORCE_USERNAME",
        "SALESFORCE_PRIVATE_KEY_FILE",
        "SALESFORCE_PASSWORD",
    ):
        assert var in message


@pytest.mark.parametrize(
    "missing", ["SALESFORCE_LOGIN_URL", "SALESFORCE_CLIENT_ID", "SALESFORCE_USERNAME"]
)
def test_incomplete_login_credentials_are_a_config_error(
    clean_env: pytest.MonkeyPatch, key_file: Path, missing: str
) -> None:
    _jwt_env(clean_env, key_file)
    clean_env.delenv(missing)

    with pytest.raises(ConfigError) as raised:
        load(SalesforceSettings)

    assert missing in raised.value.message


def test_login_without_key_file_or_password_is_a_config_error(
    clean_env: pytest.MonkeyPatch, key_file: Path
) -> None:
    _jwt_env(clean_env, key_file)
    clean_env.delenv("SALESFORCE_PRIVATE_KEY_FILE")

    message = _config_error(SalesforceSettings, clean_env)

    assert "SALESFORCE_PRIVATE_KEY_FILE" in message


def test_password_without_client_secret_is_a_config_error(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _password_env(clean_env)
    clean_env.delenv("SALESFORCE_CLIENT_SECRET")

    message = _config_error(SalesforceSettings, clean_env)

    assert "SALESFORCE_CLIENT_SECRET" in message


def test_token_without_instance_url_is_one_line_asking_for_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    message = _config_error(
        SalesforceSettings, clean_env, SALESFORCE_ACCESS_TOKEN=TOKEN
    )

    assert "SALESFORCE_ACCESS_TOKEN needs SALESFORCE_INSTANCE_URL" in message
    assert TOKEN not in message


@pytest.mark.parametrize("var", ["SALESFORCE_PRIVATE_KEY_FILE", "SALESFORCE_CA_BUNDLE"])
def test_nonexistent_file_is_one_line_naming_the_var_and_the_path(
    clean_env: pytest.MonkeyPatch, key_file: Path, tmp_path: Path, var: str
) -> None:
    _jwt_env(clean_env, key_file)
    missing = tmp_path / "nowhere" / "file.pem"

    message = _config_error(SalesforceSettings, clean_env, **{var: str(missing)})

    assert message.startswith(f"{var}: ")
    assert f"file {missing} does not exist" in message


def test_secrets_are_secret_strings_hidden_from_repr_and_str(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _password_env(clean_env)
    _token_env(clean_env)

    sf = load(SalesforceSettings)

    for name, value in (
        ("access_token", TOKEN),
        ("password", PASSWORD),
        ("client_secret", CLIENT_SECRET),
    ):
        secret = getattr(sf, name)
        assert isinstance(secret, SecretStr)
        assert secret.get_secret_value() == value
        assert value not in repr(sf)
        assert value not in str(sf)
        assert value not in repr(secret)


def test_config_error_does_not_echo_the_secret_it_rejects(
    clean_env: pytest.MonkeyPatch,
) -> None:
    _token_env(clean_env)

    message = _config_error(
        SalesforceSettings, clean_env, SALESFORCE_INSTANCE_URL="http://acme.example"
    )

    assert TOKEN not in message


def test_a_sandbox_fault_plan_is_read_from_json_or_a_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plan = {"seed": 3, "rates": {"UNABLE_TO_LOCK_ROW": 0.1}}
    clean_env.setenv("SANDBOX_FAULT_PLAN", json.dumps(plan))
    assert load(SandboxSettings).fault_plan == plan
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    clean_env.setenv("SANDBOX_FAULT_PLAN", f"@{path}")
    assert load(SandboxSettings).fault_plan == plan


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ('{"rates": {"NOT_A_FAULT": 0.5}}', "unknown fault: NOT_A_FAULT"),
        ('{"rates": {"SERVER_UNAVAILABLE": 2}}', "within 0..1"),
        ("{not json", "not a fault plan"),
        ("@/nonexistent/plan.json", "does not exist"),
    ],
)
def test_a_bad_sandbox_fault_plan_is_one_line_naming_the_var(
    clean_env: pytest.MonkeyPatch, value: str, fragment: str
) -> None:
    clean_env.setenv("SANDBOX_FAULT_PLAN", value)
    with pytest.raises(ConfigError) as err:
        load(SandboxSettings)
    assert err.value.message.startswith("SANDBOX_FAULT_PLAN: ")
    assert fragment in err.value.message
    assert "\n" not in err.value.message
