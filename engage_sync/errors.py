"""One line naming the setting to fix, never a traceback, when Kafka, the Schema
Registry or the Salesforce org cannot be reached or refuses us.

Two halves: `require_kafka`, `require_registry` and `require_salesforce` are fast
checks a verb runs before its work (librdkafka retries a dead bootstrap forever, so
without them a consumer waits or a listing reads "nothing"); `one_line` turns the
errors that still escape a verb into the line `main()` prints.
"""

from __future__ import annotations

import re
import socket

from ground.settings import ConfigError, KafkaSettings, SalesforceSettings

# A probe that outlasts this is a broker that does not answer: a healthy one answers
# a metadata request in milliseconds, a loaded remote one in well under a second.
KAFKA_PROBE_SECONDS = 10.0
# Each bootstrap address is first tried with a plain TCP connect: a refused port or
# an unknown host fails in milliseconds instead of after the whole probe.
TCP_CONNECT_SECONDS = 3.0


class Unreachable(ConfigError):
    """A service the verb needs cannot be reached or refuses us (exit code 2)."""

    def __init__(self, message: str) -> None:
        SystemExit.__init__(self, f"engage-sync: {message}")
        self.message = message


def _addresses(servers: str) -> list[tuple[str, int]]:
    out = []
    for part in servers.split(","):
        host, _, port = part.strip().rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def _tcp_reachable(servers: str) -> str | None:
    """None when some bootstrap address accepts a connection, else why none did."""
    reasons = []
    for host, port in _addresses(servers):
        try:
            with socket.create_connection((host, port), timeout=TCP_CONNECT_SECONDS):
                return None
        except OSError as exc:
            reasons.append(f"{host}:{port}: {exc.strerror or exc}")
    return "; ".join(reasons)


def require_kafka(kafka: KafkaSettings, timeout: float = KAFKA_PROBE_SECONDS) -> None:
    """Stop with one line unless the brokers can be reached, trusted and logged in to.

    A plain TCP connect first (a refused port or an unknown host fails in
    milliseconds), then `connectors.kafka.preflight.check_kafka`, the one check that
    tells a refused login, an untrusted certificate and a wrong protocol apart.

    Raises:
        ConfigError: KAFKA_BOOTSTRAP_SERVERS is not set, or the check failed.
        Unreachable: no broker accepted a TCP connection.
    """
    from connectors.kafka import preflight

    servers = kafka.require_bootstrap()
    refused = _tcp_reachable(servers)
    if refused is not None:
        # A refused connect or an unknown host: the address is wrong or down (login
        # and TLS problems need a connection, and the preflight names those).
        plain = kafka.security_protocol == "PLAINTEXT"
        protocol = "" if plain else " and KAFKA_SECURITY_PROTOCOL"
        raise Unreachable(
            f"cannot reach Kafka at {servers} ({refused}): "
            f"check KAFKA_BOOTSTRAP_SERVERS{protocol}"
        )
    preflight.check_kafka(kafka, timeout)


def require_registry(kafka: KafkaSettings) -> None:
    """Stop with one line unless the Schema Registry (when one is set) answers and
    takes our credentials (`connectors.kafka.preflight.check_registry`).

    Raises:
        ConfigError: the registry cannot be reached, or refuses our credentials.
    """
    from connectors.kafka import preflight

    preflight.check_registry(kafka)


def require_salesforce(settings: SalesforceSettings) -> None:
    """Stop with one line when the org's address refuses connections or has no such
    host: a wrong URL, which no amount of waiting fixes. A timeout is left to the
    verb, whose start-up waits out an org that is only slow or briefly down.

    Raises:
        Unreachable: the login (or instance) URL refuses connections or does not
            resolve.
    """
    from urllib.parse import urlsplit

    url, setting = (
        (settings.instance_url, "SALESFORCE_INSTANCE_URL")
        if settings.flow == "token"
        else (settings.login_url, "SALESFORCE_LOGIN_URL")
    )
    if not url:
        return  # the settings' own check names what is missing
    where = urlsplit(url)
    try:
        with socket.create_connection(
            (where.hostname or "", where.port or 443), timeout=TCP_CONNECT_SECONDS
        ):
            return
    except (ConnectionRefusedError, socket.gaierror) as exc:
        raise Unreachable(
            f"cannot reach Salesforce at {url} ({exc.strerror or exc}): check {setting}"
        ) from None
    except OSError:
        return  # slow or filtered: the verb's own retries decide


def _short(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, e.g. 'Connection refused'."""
    text = str(exc)
    found = re.findall(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found[-1].strip()
    return text[:200]


def one_line(exc: BaseException) -> str | None:
    """The line for an error whose fix is outside the code; None for a bug (whose
    traceback is worth seeing)."""
    from confluent_kafka import KafkaException

    from connectors.salesforce.errors import SalesforceError

    if isinstance(exc, KafkaException):
        err = exc.args[0] if exc.args else exc
        reason = err.str() if hasattr(err, "str") else str(err)
        return f"Kafka failed: {reason}: check KAFKA_BOOTSTRAP_SERVERS and the brokers"
    if isinstance(exc, SalesforceError):
        message = exc.problem.message
        if "check SALESFORCE" in message:
            return f"Salesforce: {message}"
        return f"Salesforce: {message}: check SALESFORCE_LOGIN_URL (or _INSTANCE_URL)"
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if isinstance(exc, SchemaRegistryError):
        return f"the Schema Registry failed: {exc}: check SCHEMA_REGISTRY_URL"
    import requests

    if isinstance(exc, requests.RequestException):
        url = str(exc.request.url) if exc.request is not None else "a service"
        return f"cannot reach {url} ({_short(exc)})"
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"a connection failed: {exc}"
    return None
