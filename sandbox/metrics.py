"""Prometheus view of a running sandbox org (API usage, records, injected faults),
served with /healthz on METRICS_PORT."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sandbox.settings import SandboxSettingsError
from sandbox.state import OrgState


class SandboxCollector(Collector):
    """Reads the org's state at scrape time (the sandbox plays the org's side)."""

    def __init__(self, state: OrgState) -> None:
        self.state = state

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        used = self.state.api_usage()
        limit = self.state.daily_limit
        yield GaugeMetricFamily(
            "engage_sync_sandbox_api_used", "API calls the org counted.", value=used
        )
        yield GaugeMetricFamily(
            "engage_sync_sandbox_api_limit", "The org's daily API limit.", value=limit
        )
        records = GaugeMetricFamily(
            "engage_sync_sandbox_records", "Live records per object.", labels=["object"]
        )
        counts = self.state.store.counts()
        for name in self.state.schema.objects:
            records.add_metric([name], counts.get(name, 0))
        yield records
        faults = CounterMetricFamily(
            "engage_sync_sandbox_faults_injected",
            "Faults the fault plan injected.",
            labels=["fault"],
        )
        for fault, n in dict(self.state.faults.injected).items():
            faults.add_metric([fault], n)
        yield faults


class MetricsServer:
    """Serves /metrics and /healthz on one port from a daemon thread."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, name="sandbox-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(state: OrgState, host: str, port: int) -> MetricsServer | None:
    """Serve the org's figures on /metrics and its URL on /healthz.

    Args:
        state: the running org.
        host: METRICS_HOST.
        port: METRICS_PORT; 0 serves nothing.

    Returns:
        The running server, or None when port is 0.

    Raises:
        SandboxSettingsError: the port cannot be used (one line naming the fix).
    """
    if port == 0:
        return None
    try:
        server = ThreadingHTTPServer((host, port), _handler(state))
    except OSError as exc:
        raise SandboxSettingsError(
            f"METRICS_PORT {port} cannot be used ({exc.strerror}): set METRICS_PORT "
            "to a free port, or 0 to serve no metrics"
        ) from None
    REGISTRY.register(SandboxCollector(state))
    return MetricsServer(server)


def _handler(state: OrgState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif path == "/healthz":
                body = json.dumps({"status": "ok", "url": state.url})
                self._send(200, "application/json", body.encode())
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # scrapes every 15 s would drown the process log

    return Handler
