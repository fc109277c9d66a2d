"""Apache Kafka for the benchmarks: one KRaft node from scripts/kafka-broker."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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


def run_parts(parts: list[Callable[[str, Path], list[str]]]) -> list[str]:
    """Run each part on one fresh broker; their markdown, in order."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        apache_kafka(Path(tmp) / "kafka") as bootstrap,
    ):
        return [line for part in parts for line in part(bootstrap, Path(tmp))]


if __name__ == "__main__":
    # `python -m bench.apache`: only the Apache Kafka parts, markdown to stdout.
    from bench.run import APACHE_PARTS

    print("\n".join(run_parts(APACHE_PARTS)))
