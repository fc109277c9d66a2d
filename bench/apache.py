"""The parts that run on Apache Kafka only, as `make bench` parts (bench/run.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.context import QUICK


def quick() -> bool:
    """BENCH_QUICK=1: a tenth of the sizes and durations (`bench.context.QUICK`)."""
    return QUICK


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
