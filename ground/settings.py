"""Typed settings, a class per boundary, from env/secret files, checked at start-up."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRETS_DIR_ENV = "ENGAGE_SYNC_SECRETS_DIR"


class ConfigError(SystemExit):
    """A setting is wrong; the message is one line that names the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(f"engage-sync: configuration error: {message}")
        self.message = message


def _secrets_dir() -> str | None:
    path = os.environ.get(SECRETS_DIR_ENV, "/run/secrets")
    return path if Path(path).is_dir() else None


class _Base(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(_Base):
    """Where Kafka and the Schema Registry are, how to authenticate to them, and how
    our topics and groups are named. `connectors.kafka.config` turns it into the
    configuration of every client (librdkafka, faust, the registry client)."""

    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, secrets_dir=_secrets_dir()
    )

    bootstrap_servers: str | None = Field(None, alias="KAFKA_BOOTSTRAP_SERVERS")
    topic_prefix: str = Field("", alias="KAFKA_TOPIC_PREFIX")
    group_prefix: str = Field("engage-sync", alias="KAFKA_GROUP_PREFIX")
    partitions: int = Field(4, ge=1, le=1000, alias="KAFKA_TOPIC_PARTITIONS")
    replication_factor: int = Field(1, ge=1, le=10, alias="KAFKA_REPLICATION_FACTOR")
    session_timeout_ms: int = Field(10_000, ge=1000, alias="KAFKA_SESSION_TIMEOUT_MS")
    # How long a produced record may wait for the brokers before its delivery fails
    # (librdkafka's message.timeout.ms, whose default this is); a batch whose
    # outputs fail is retried, not committed.
    message_timeout_ms: int = Field(
        300_000, ge=1000, le=900_000, alias="KAFKA_MESSAGE_TIMEOUT_MS"
    )
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL"
    )
    sasl_mechanism: SaslMechanism = Field("PLAIN", alias="KAFKA_SASL_MECHANISM")
    sasl_username: str | None = Field(None, alias="KAFKA_SASL_USERNAME")
    sasl_password: SecretStr | None = Field(None, alias="KAFKA_SASL_PASSWORD")
    ssl_ca_file: Path | None = Field(None, alias="KAFKA_SSL_CA_FILE")
    ssl_cert_file: Path | None = Field(None, alias="KAFKA_SSL_CERT_FILE")
    ssl_key_file: Path | None = Field(None, alias="KAFKA_SSL_KEY_FILE")
    ssl_key_password: SecretStr | None = Field(None, alias="KAFKA_SSL_KEY_PASSWORD")
    schema_registry_url: str | None = Field(None, alias="SCHEMA_REGISTRY_URL")
    schema_registry_basic_auth: SecretStr | None = Field(
        None, alias="SCHEMA_REGISTRY_BASIC_AUTH"
    )
    schema_registry_ca_file: Path | None = Field(
        None, alias="SCHEMA_REGISTRY_CA_FILE"
    )

    @field_validator(
        "ssl_ca_file", "ssl_cert_file", "ssl_key_file", "schema_registry_ca_file"
    )
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @field_validator("schema_registry_basic_auth")
    @classmethod
    def _user_colon_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("must be user:password (the registry's API key:secret)")
        return value

    @model_validator(mode="after")
    def _security_is_whole(self) -> KafkaSettings:
        if self.uses_sasl and (not self.sasl_username or self.sasl_password is None):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError(
                "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together "
                "(a client certificate needs its key)"
            )
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def as_env(self) -> dict[str, str]:
        """These settings as the environment of a child process (secrets included:
        only ever passed to a process we start, never printed)."""
        return _as_env(self)

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for part in value.split(","):
            if not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", part.strip()):
                raise ValueError(f"'{part}' is not host:port (e.g. localhost:9092)")
        return value

    def require_bootstrap(self) -> str:
        if not self.bootstrap_servers:
            raise ConfigError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: set it to host:port of your Kafka "
                "brokers (or use `engage-sync up`, which starts an embedded broker)"
            )
        return self.bootstrap_servers

    def group(self, role: str) -> str:
        return f"{self.group_prefix}.{role}"


class SalesforceSettings(_Base):
    """How to reach and authenticate to the Salesforce org."""

    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, secrets_dir=_secrets_dir()
    )

    instance_url: str | None = Field(None, alias="SALESFORCE_INSTANCE_URL")
    access_token: SecretStr | None = Field(None, alias="SALESFORCE_ACCESS_TOKEN")
    login_url: str | None = Field(None, alias="SALESFORCE_LOGIN_URL")
    client_id: str | None = Field(None, alias="SALESFORCE_CLIENT_ID")
    client_secret: SecretStr | None = Field(None, alias="SALESFORCE_CLIENT_SECRET")
    username: str | None = Field(None, alias="SALESFORCE_USERNAME")
    password: SecretStr | None = Field(None, alias="SALESFORCE_PASSWORD")
    private_key_file: Path | None = Field(None, alias="SALESFORCE_PRIVATE_KEY_FILE")
    api_version: str = Field("59.0", alias="SALESFORCE_API_VERSION")
    ca_bundle: Path | None = Field(None, alias="SALESFORCE_CA_BUNDLE")
    timeout_seconds: float = Field(60.0, gt=0, alias="SALESFORCE_TIMEOUT_SECONDS")

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.removeprefix("v")
        if not re.fullmatch(r"\d{2}\.0", value) or float(value) < 46:
            raise ValueError("must look like 59.0 (46.0 or newer: collections upsert)")
        return value

    @field_validator("instance_url", "login_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (Salesforce only speaks HTTPS)")
        return value.rstrip("/")

    @field_validator("ca_bundle", "private_key_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @model_validator(mode="after")
    def _one_auth_flow(self) -> SalesforceSettings:
        if self.access_token is not None:
            if self.instance_url is None:
                raise ValueError(
                    "SALESFORCE_ACCESS_TOKEN needs SALESFORCE_INSTANCE_URL as well"
                )
            return self
        missing = [
            name
            for name, value in (
                ("SALESFORCE_LOGIN_URL", self.login_url),
                ("SALESFORCE_CLIENT_ID", self.client_id),
                ("SALESFORCE_USERNAME", self.username),
            )
            if not value
        ]
        password_flow = self.password is not None and self.client_secret is not None
        if missing or (self.private_key_file is None and not password_flow):
            raise ValueError(
                "no Salesforce credentials: set SALESFORCE_INSTANCE_URL + "
                "SALESFORCE_ACCESS_TOKEN, or SALESFORCE_LOGIN_URL, "
                "SALESFORCE_CLIENT_ID, "
                "SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY_FILE (JWT) or "
                "SALESFORCE_PASSWORD + SALESFORCE_CLIENT_SECRET"
            )
        return self

    @property
    def flow(self) -> str:
        if self.access_token is not None:
            return "token"
        return "jwt" if self.private_key_file is not None else "password"


class BudgetSettings(_Base):
    """How much of the org's daily API limit engage-sync may use (all processes)."""

    share: float = Field(0.5, gt=0, le=1, alias="SALESFORCE_API_BUDGET_SHARE")
    org_reserve: float = Field(0.10, ge=0, lt=1, alias="SALESFORCE_API_ORG_RESERVE")
    probe_seconds: float = Field(
        60.0, ge=0.2, le=3600, alias="SALESFORCE_API_PROBE_SECONDS"
    )


class MetricsSettings(_Base):
    """Where a process serves /metrics and /healthz (0 = not at all)."""

    port: int | None = Field(None, ge=0, le=65535, alias="METRICS_PORT")
    host: str = Field("0.0.0.0", alias="METRICS_HOST")  # noqa: S104

    def port_for(self, default: int) -> int:
        return default if self.port is None else self.port


class WriterSettings(_Base):
    """Batching of the Salesforce writer."""

    # 1,000 = one Composite call of 5 sObject-Collection subrequests of 200 records.
    batch_size: int = Field(1000, ge=1, le=1000, alias="WRITER_BATCH_SIZE")
    linger_ms: int = Field(250, ge=0, le=60_000, alias="WRITER_LINGER_MS")
    max_retry_seconds: float = Field(30.0, gt=0, alias="WRITER_MAX_BACKOFF_SECONDS")
    fetch_max_wait_ms: int = Field(
        100, ge=10, le=5000, alias="WRITER_FETCH_MAX_WAIT_MS"
    )
    max_record_attempts: int = Field(
        12, ge=1, le=1000, alias="WRITER_MAX_RECORD_ATTEMPTS"
    )


class WorkerSettings(_Base):
    """Batching of the Faust activity worker."""

    batch_size: int = Field(1000, ge=1, le=100_000, alias="WORKER_BATCH_SIZE")
    batch_within_ms: int = Field(50, ge=1, le=60_000, alias="WORKER_BATCH_WITHIN_MS")
    loglevel: str = Field("WARNING", alias="WORKER_LOGLEVEL")
    fetch_max_wait_ms: int = Field(
        100, ge=10, le=5000, alias="WORKER_FETCH_MAX_WAIT_MS"
    )
    # /healthz answers 503 past this without a fetch answer (or, loaded, a poll).
    health_poll_seconds: float = Field(
        60.0, ge=5, le=3600, alias="WORKER_HEALTH_POLL_SECONDS"
    )


S = TypeVar("S", bound=BaseSettings)


def _as_env(settings: BaseSettings) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None or not info.alias:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[info.alias] = str(value)
    return env


def load(cls: type[S], **overrides: Any) -> S:
    """Build a settings class, turning validation errors into one clear line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p != "__root__"]
        where = _alias_for(cls, loc[0]) if loc else cls.__name__
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}") from None


def _alias_for(cls: type[BaseSettings], name: str) -> str:
    field = cls.model_fields.get(name)
    return field.alias if field is not None and field.alias else name


# scrypt$N$r$p$salt$hash (base64): what `engage-sync hash-password` writes.
_PASSWORD_HASH = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")


class ConsoleSettings(_Base):
    """The admin console: where it listens, its admin login, API token and lock-out.

    The password hash and the API token come from a setting or from a file (a
    mounted secret); either way they are secrets, never logged or rendered.
    """

    model_config = SettingsConfigDict(
        extra="ignore", case_sensitive=False, secrets_dir=_secrets_dir()
    )

    host: str = Field("127.0.0.1", alias="CONSOLE_HOST")
    port: int = Field(8088, ge=0, le=65535, alias="CONSOLE_PORT")
    admin_user: str = Field("admin", min_length=1, alias="CONSOLE_ADMIN_USER")
    password_hash: SecretStr | None = Field(None, alias="CONSOLE_PASSWORD_HASH")
    password_hash_file: Path | None = Field(None, alias="CONSOLE_PASSWORD_HASH_FILE")
    api_token: SecretStr | None = Field(None, alias="CONSOLE_API_TOKEN")
    api_token_file: Path | None = Field(None, alias="CONSOLE_API_TOKEN_FILE")
    lockout_attempts: int = Field(5, ge=1, le=1000, alias="CONSOLE_LOCKOUT_ATTEMPTS")
    lockout_window_seconds: float = Field(
        900.0, gt=0, alias="CONSOLE_LOCKOUT_WINDOW_SECONDS"
    )
    lockout_seconds: float = Field(900.0, gt=0, alias="CONSOLE_LOCKOUT_SECONDS")
    session_idle_seconds: float = Field(
        8 * 3600.0, gt=0, alias="CONSOLE_SESSION_IDLE_SECONDS"
    )
    cookie_samesite: Literal["strict", "lax"] = Field(
        "strict", alias="CONSOLE_COOKIE_SAMESITE"
    )
    # Reverse proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-Proto and
    # X-Forwarded-For are believed: behind a TLS proxy the session cookie is then
    # Secure. Unset: no forwarded header is believed.
    trusted_proxies: str | None = Field(None, alias="CONSOLE_TRUSTED_PROXIES")
    tls_cert_file: Path | None = Field(None, alias="CONSOLE_TLS_CERT_FILE")
    tls_key_file: Path | None = Field(None, alias="CONSOLE_TLS_KEY_FILE")
    status_cache_seconds: float = Field(
        15.0, ge=0, le=3600, alias="CONSOLE_STATUS_CACHE_SECONDS"
    )
    imports_dir: Path = Field(
        Path.home() / ".local" / "state" / "engage-sync" / "imports",
        alias="CONSOLE_IMPORTS_DIR",
    )
    # How long the API answers from its copy before reading Salesforce again:
    # a contact's record (Engage's screens), the Task Subject picklist.
    record_cache_seconds: float = Field(
        60.0, ge=0, le=86_400, alias="CONSOLE_RECORD_CACHE_SECONDS"
    )
    picklist_cache_seconds: float = Field(
        3600.0, ge=0, le=86_400, alias="CONSOLE_PICKLIST_CACHE_SECONDS"
    )

    @field_validator(
        "password_hash_file", "api_token_file", "tls_cert_file", "tls_key_file"
    )
    @classmethod
    def _console_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    @model_validator(mode="after")
    def _login_is_whole(self) -> ConsoleSettings:
        if (self.password_hash is None) == (self.password_hash_file is None):
            raise ValueError(
                "set one of CONSOLE_PASSWORD_HASH or CONSOLE_PASSWORD_HASH_FILE "
                "(make a hash with `engage-sync hash-password`)"
            )
        if not _PASSWORD_HASH.fullmatch(self.admin_password_hash()):
            raise ValueError(
                "the console password hash is not scrypt$N$r$p$salt$hash: make one "
                "with `engage-sync hash-password`"
            )
        if self.api_token is not None and self.api_token_file is not None:
            raise ValueError(
                "set CONSOLE_API_TOKEN or CONSOLE_API_TOKEN_FILE, not both"
            )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "CONSOLE_TLS_CERT_FILE and CONSOLE_TLS_KEY_FILE go together"
            )
        return self

    def admin_password_hash(self) -> str:
        """The admin's password hash, from the setting or its file."""
        if self.password_hash is not None:
            return self.password_hash.get_secret_value().strip()
        assert self.password_hash_file is not None
        return self.password_hash_file.read_text(encoding="utf-8").strip()

    def bearer_token(self) -> SecretStr | None:
        """The API's bearer token, from the setting or its file; None = API closed."""
        if self.api_token_file is not None:
            text = self.api_token_file.read_text(encoding="utf-8").strip()
            return SecretStr(text) if text else None
        return self.api_token

    @property
    def uses_tls(self) -> bool:
        return self.tls_cert_file is not None
