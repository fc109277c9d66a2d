"""What every benchmark part gets: the sizes (BENCH_QUICK=1: a tenth), the brokers
(started on first use, stopped at the end) and a scratch folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from connectors.kafka.embedded import EmbeddedBroker
from engage_sync.supervisor import Supervisor

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
BROKER_NAMES = {
    "apache": "Apache Kafka 4.1.1 (KRaft, one node, scripts/kafka-broker)",
    "tansu": "embedded Tansu 0.6.0 (memory)",
}


@dataclass
class Bench:
    """Shared by the parts of one `make bench` run."""

    quick: bool = QUICK
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))
    _bootstraps: dict[str, str] = field(default_factory=dict)
    _stack: ExitStack = field(default_factory=ExitStack)

    def size(self, full: int) -> int:
        """A size of the full run, or a tenth of it under BENCH_QUICK=1."""
        return max(1, full // 10) if self.quick else full

    def bootstrap(self, broker: str) -> str:
        """host:port of `broker` ("apache" or "tansu"), started on first use."""
        if broker not in self._bootstraps:
            self._bootstraps[broker] = self._start(broker)
        return self._bootstraps[broker]

    def _start(self, broker: str) -> str:
        if broker == "tansu":
            supervisor = Supervisor()
            self._stack.callback(supervisor.close)
            tansu = EmbeddedBroker(
                spawn=lambda argv, log: supervisor.start("tansu", argv, log=log).popen
            ).start()
            self._stack.callback(tansu.stop)
            return tansu.bootstrap
        from tests.brokers import ApacheKafka

        apache = ApacheKafka(self.tmp / "apache").start()
        self._stack.callback(apache.stop)
        return apache.bootstrap

    def close(self) -> None:
        self._stack.close()


Section = list[str]
PartRun = Callable[[Bench], Section]
