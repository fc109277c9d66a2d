"""The worker's /healthz tells the truth: 503 while its broker is gone, 200 after."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.kafka.embedded import free_port
from ground.settings import KafkaSettings
from tests.conftest import Processes, fresh_namespace, kafka_env
from tests.waiting import wait_until

# The test's limit, below the 60 s default, so the outage shows within 30 s.
POLL_LIMIT_SECONDS = 10


def _healthz(port: int) -> tuple[int, dict[str, Any]]:
    """Status and document of /healthz; (0, {}) while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return r.status, dict(json.loads(r.read()))
    except urllib.error.HTTPError as exc:
        return exc.code, dict(json.loads(exc.read() or b"{}"))
    except OSError:
        return 0, {}


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Any]:
    """An Apache Kafka of this test only: stopping it disturbs no other test."""
    from tests.brokers import ApacheKafka, BrokerUnavailable

    broker = ApacheKafka(tmp_path / "kafka")
    try:
        broker.start()
    except BrokerUnavailable as exc:
        pytest.skip(f"Apache Kafka tier skipped: {exc}")
    try:
        yield broker
    finally:
        broker.stop()


def test_worker_healthz_is_503_while_its_broker_is_down_and_200_once_it_is_back(
    own_broker: Any, processes: Processes
) -> None:
    kafka: KafkaSettings = fresh_namespace(own_broker.bootstrap)
    port = free_port()
    worker = processes.start(
        "worker",
        kafka_env(kafka)
        | {
            "METRICS_PORT": str(port),
            "WORKER_HEALTH_POLL_SECONDS": str(POLL_LIMIT_SECONDS),
        },
    )

    def status() -> int:
        assert worker.popen.poll() is None, worker.output()[-3000:]
        return _healthz(port)[0]

    wait_until(
        lambda: status() == 200 and _healthz(port)[1].get("ready"),
        120,
        what="the worker loaded and healthy",
    )
    own_broker.stop()
    unhealthy = wait_until(
        lambda: status() == 503 and _healthz(port)[1], 30, what="503 without a broker"
    )
    assert "Kafka" in unhealthy["reason"], unhealthy
    own_broker.start()
    wait_until(lambda: status() == 200, 90, what="200 once the broker is back")
