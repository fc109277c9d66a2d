"""Prometheus view of a running sandbox org: API usage, records, injected faults."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

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
