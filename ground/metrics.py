"""Prometheus metrics of every process, and the /metrics + /healthz endpoint."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
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
from prometheus_client.registry import Collector

from ground.settings import ConfigError, MetricsSettings, load

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
BUDGET_RECHECKS = Counter(
    "engage_sync_budget_rechecks",
    "Times paused Salesforce work re-read the API usage to see if it may go on.",
    ["process"],
)


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
    collectors: Sequence[Collector] = (),
    settings: MetricsSettings | None = None,
) -> MetricsServer | None:
    """Start the endpoint on METRICS_PORT (or the process's default); 0 = none."""
    settings = settings or load(MetricsSettings)
    port = settings.port_for(DEFAULT_PORTS.get(process, 9100))
    if port == 0:
        return None
    if process in ("writer", "poller"):
        BUDGET_PAUSED.labels(process).set(0)  # absent would read as "unknown"
    for collector in collectors:  # e.g. connectors.kafka.lag_metrics.LagCollector
        REGISTRY.register(collector)
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
