"""The secrets a run handles, and a scan of logs and topics for any of them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from connectors.kafka import config as kafka_config
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings

# Shorter PEM lines (the last one of a body) could match by chance.
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class Secret:
    name: str
    value: bytes


def credential_secrets(org: Any, extra: Iterable[tuple[str, str]] = ()) -> list[Secret]:
    """The private key's body lines, the client secret and the password."""
    creds = org.credentials
    pem = Path(creds.private_key_path).read_text()
    found = [
        Secret(f"private key line {n}", line.strip().encode())
        for n, line in enumerate(pem.splitlines())
        if line.strip() and not line.startswith("-----")
    ]
    found.append(Secret("client secret", creds.client_secret.encode()))
    found.append(Secret("password", creds.password.encode()))
    found += [Secret(name, value.encode()) for name, value in extra]
    return [s for s in found if len(s.value) >= MIN_SECRET_LENGTH]


def issued_tokens(org: Any) -> list[Secret]:
    """Every access and refresh token the org ever issued, read from its token store.

    Tokens look like `<org id>!<secret part>`; the part after `!` is what must never
    be seen (the org id alone is not a secret).
    """
    db = Path(org.data_dir) / "org.sqlite3"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT token, kind FROM tokens").fetchall()
    finally:
        conn.close()
    return [
        Secret(f"{kind} token #{n}", token.split("!", 1)[-1].encode())
        for n, (token, kind) in enumerate(rows)
    ]


def file_blobs(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        yield path.name, path.read_bytes()


def topic_blobs(
    settings: KafkaSettings, idle: float = 1.5
) -> Iterator[tuple[str, bytes]]:
    """Every key, value and header of every topic of the deployment."""
    topics = Topics(settings)
    consumer = Consumer(
        {
            **kafka_config.librdkafka(settings),
            "group.id": "unused-secrets-scan",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    try:
        meta = consumer.list_topics(timeout=10).topics
        names = [s.name for s in topics.all() if s.name in meta]
        # Scanned to the end only once every partition said end-of-partition: an
        # idle wait alone passes vacuously when the first fetch is slow.
        unread = {(name, p) for name in names for p in meta[name].partitions}
        consumer.assign([TopicPartition(n, p, OFFSET_BEGINNING) for n, p in unread])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            msgs = consumer.consume(500, idle)
            if not msgs and not unread:
                return
            for msg in msgs:
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        unread.discard((msg.topic() or "", msg.partition() or 0))
                    continue
                where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
                yield f"{where} key", msg.key() or b""
                yield f"{where} value", msg.value() or b""
                for name, value in msg.headers() or []:
                    yield (
                        f"{where} header {name}",
                        name.encode() + b"=" + (value or b""),
                    )
        raise TimeoutError(f"partitions not read to their end in 120 s: {unread}")
    finally:
        consumer.close()


def scan(blobs: Iterable[tuple[str, bytes]], secrets: list[Secret]) -> list[str]:
    """Where any secret appears, as '<where>: <secret name>' (empty: nowhere)."""
    hits = []
    for where, data in blobs:
        for secret in secrets:
            if secret.value in data:
                hits.append(f"{where}: {secret.name}")
    return hits
