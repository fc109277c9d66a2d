"""Prometheus metrics of every process, and the /metrics + /healthz endpoint."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from engage_sync.settings import ConfigError, KafkaSettings, MetricsSettings, load

log = logging.getLogger(__name__)

_process = ["engage-sync"]


def set_process(name: str) -> None:
    """Name this process's role once at start; labels counters shared by modules."""
    _process[0] = name


def process() -> str:
    return _process[0]

# Default ports when METRICS_PORT is not set (one per process kind).
DEFAULT_PORTS = {"worker": 9101, "writer": 9102, "poller": 9103, "sandbox": 9104}

EVENTS_IN = Counter(
    "engage_sync_events_in", "Events read from input topics.", ["process", "topic"]
)
COMMANDS_OUT = Counter(
    "engage_sync_commands_out", "Salesforce commands published.", ["process"]
)
TASKS_WRITTEN = Counter("engage_sync_tasks_written", "Tasks written to Salesforce.")
RECORDS_WRITTEN = Counter(
    "engage_sync_records_written",
    "Salesforce records written, by object and operation.",
    ["object", "operation"],
)
DEAD_LETTERS = Counter(
    "engage_sync_dead_letters", "Records sent to the dead-letter topic.",
    ["process", "reason"],
)
REJECTED = Counter(
    "engage_sync_salesforce_rejected",
    "Writes Salesforce refused (validation rule, duplicate rule, bad value...).",
    ["object", "code"],
)
API_CALLS = Counter(
    "engage_sync_salesforce_api_calls", "Salesforce API calls made.", ["process"]
)
API_USED = Gauge(
    "engage_sync_salesforce_api_used", "The org's API calls used in 24 h (all users)."
)
API_LIMIT = Gauge("engage_sync_salesforce_api_limit", "The org's daily API limit.")
API_REMAINING = Gauge(
    "engage_sync_salesforce_api_remaining", "The org's API calls left in 24 h."
)
BATCH_SIZE = Histogram(
    "engage_sync_writer_batch_size",
    "Commands per writer batch.",
    buckets=(1, 5, 10, 25, 50, 100, 200, 400, 600, 800, 1000),
)
BATCH_SECONDS = Histogram(
    "engage_sync_writer_batch_seconds",
    "Time to write one batch and commit it.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
RETRIES = Counter(
    "engage_sync_writer_retries", "Retried Salesforce writes, by error code.", ["code"]
)
CURSOR_AGE = Gauge(
    "engage_sync_poll_cursor_age_seconds",
    "How far the poll cursor is behind now.",
    ["object"],
)
BUDGET_PAUSES = Counter(
    "engage_sync_budget_pauses",
    "Times Salesforce work paused for the API budget.",
    ["process", "reason"],
)
BUDGET_PAUSED = Gauge(
    "engage_sync_budget_paused", "1 while paused for the API budget.", ["process"]
)


class LagCollector(Collector):
    """kafka_exporter's lag metrics for our consumer groups, computed at scrape time."""

    def __init__(self, kafka: KafkaSettings, group: str | None, ttl: float = 5.0):
        self.kafka, self.group, self.ttl = kafka, group, ttl
        self._cached: tuple[float, list[Any]] = (0.0, [])
        self._lock = threading.Lock()

    def _groups(self) -> list[Any]:
        from connectors.kafka.lag import group_lag

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


Health = Callable[[], tuple[bool, dict[str, Any]]]


class MetricsServer:
    """Serves /metrics and /healthz on one port in a daemon thread."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(
    process: str,
    health: Health,
    kafka: KafkaSettings | None = None,
    lag_group: str | None = None,
    settings: MetricsSettings | None = None,
) -> MetricsServer | None:
    """Start the endpoint on METRICS_PORT (or the process's default); 0 = none."""
    settings = settings or load(MetricsSettings)
    port = settings.port_for(DEFAULT_PORTS.get(process, 9100))
    if port == 0:
        return None
    if process in ("writer", "poller"):
        BUDGET_PAUSED.labels(process).set(0)  # absent would read as "unknown"
    if kafka is not None and lag_group is not None:
        REGISTRY.register(LagCollector(kafka, lag_group))
    try:
        server = ThreadingHTTPServer((settings.host, port), _handler(health))
    except OSError as exc:
        raise ConfigError(
            f"METRICS_PORT {port} cannot be used ({exc.strerror}): set METRICS_PORT "
            "to a free port, or 0 to serve no metrics"
        ) from None
    log.info("metrics and health on http://%s:%d/metrics", settings.host, port)
    return MetricsServer(server)


def _handler(health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif path == "/healthz":
                try:
                    ok, details = health()
                except Exception as exc:  # noqa: BLE001 - report, do not crash
                    ok, details = False, {"error": str(exc)}
                body = json.dumps({"status": "ok" if ok else "unhealthy"} | details)
                self._send(200 if ok else 503, "application/json", body.encode())
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # scrapes every 15 s would drown the process log

    return Handler
