"""Apache Kafka for the benchmarks: one KRaft node from scripts/kafka-broker."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.brokers import ApacheKafka


@contextmanager
def apache_kafka(data_dir: Path) -> Iterator[str]:
    """Yield the bootstrap address of a fresh broker (or $BENCH_APACHE_BOOTSTRAP's).

    Args:
        data_dir: where the broker keeps its log segments for this run.
    """
    given = os.environ.get("BENCH_APACHE_BOOTSTRAP")
    if given:
        yield given
        return
    broker = ApacheKafka(data_dir).start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def quick() -> bool:
    """BENCH_QUICK=1: a tenth of the sizes and durations."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


def _on_apache(bench: Any, part: Callable[[str, Path], list[str]]) -> list[str]:
    """A `(bootstrap, workdir)` part as a `make bench` part: the run's Apache Kafka
    and a folder of its own under the run's temporary folder."""
    return part(bench.bootstrap("apache"), Path(tempfile.mkdtemp(dir=bench.tmp)))


def latency(bench: Any) -> list[str]:
    from bench import latency as part

    return _on_apache(bench, part.part)


def state_scale(bench: Any) -> list[str]:
    from bench import state_scale as part

    return _on_apache(bench, part.part)


def backfill_scale(bench: Any) -> list[str]:
    from bench import backfill_scale as part

    return _on_apache(bench, part.part)


def scale_out(bench: Any) -> list[str]:
    from bench import scale_out as part

    return _on_apache(bench, part.part)
