"""kafka_exporter's lag metrics for our consumer groups, for a process's /metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connectors.kafka.lag import group_lag
from ground.settings import KafkaSettings

log = logging.getLogger(__name__)


class LagCollector(Collector):
    """kafka_exporter's lag metrics for our consumer groups, computed at scrape time."""

    def __init__(self, kafka: KafkaSettings, group: str | None, ttl: float = 5.0):
        self.kafka, self.group, self.ttl = kafka, group, ttl
        self._cached: tuple[float, list[Any]] = (0.0, [])
        self._lock = threading.Lock()

    def _groups(self) -> list[Any]:
        with self._lock:
            at, groups = self._cached
            if time.monotonic() - at > self.ttl:
                groups = group_lag(self.kafka, self.group)
                self._cached = (time.monotonic(), groups)
            return groups

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Messages behind the log end, per partition.",
            labels=["consumergroup", "topic", "partition"],
        )
        lag_sum = GaugeMetricFamily(
            "kafka_consumergroup_lag_sum",
            "Messages behind the log end, per topic.",
            labels=["consumergroup", "topic"],
        )
        seconds = GaugeMetricFamily(
            "engage_sync_consumergroup_lag_seconds",
            "Age of the oldest unconsumed message, per partition.",
            labels=["consumergroup", "topic", "partition"],
        )
        try:
            groups = self._groups()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail the process
            log.debug("lag not available: %s", exc)
            groups = []
        for group in groups:
            sums: dict[str, int] = {}
            for p in group.partitions:
                if p.lag is None:  # nothing committed yet: no lag to speak of
                    continue
                labels = [group.group, p.topic, str(p.partition)]
                lag.add_metric(labels, p.lag)
                seconds.add_metric(labels, p.lag_seconds or 0.0)
                sums[p.topic] = sums.get(p.topic, 0) + p.lag
            for topic, total in sums.items():
                lag_sum.add_metric([group.group, topic], total)
        yield lag
        yield lag_sum
        yield seconds
