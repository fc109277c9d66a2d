"""One timing method for every throughput figure, and CPU seconds per process.

Rate: first to last output's broker timestamp, after a warm-up (the first outputs,
which include start-up and group joins, are skipped). CPU: utime+stime of the process
from /proc between the warm-up's end and the last output.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from connectors.kafka.clients import consumer
from ground.settings import KafkaSettings

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Rate:
    """A throughput figure: events/s and CPU seconds per 1,000 events."""

    events_per_s: float
    cpu_per_1000: float | None
    outputs: int


class OutputClock:
    """Reads output topics from their start and times them (a thread of ours).

    Args:
        settings: where the topics are.
        topics: the output topics to count.
        expected: outputs to wait for.
        warm_up: outputs skipped before timing starts.
        cpu: returns the measured process's CPU seconds (sampled at the warm-up's
            end and at the last output).
        on_timing: called once when the warm-up ends and timing starts (e.g. to
            start a profiler on the measured process).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topics: list[str],
        expected: int,
        warm_up: int,
        cpu: Callable[[], float] | None = None,
        on_timing: Callable[[], object] | None = None,
    ) -> None:
        self.settings, self.topics = settings, topics
        self.expected, self.warm_up, self.cpu = expected, warm_up, cpu
        self.on_timing = on_timing
        self.stamps: list[float] = []
        self._cpu_marks: list[float] = []
        self._done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> OutputClock:
        self._thread.start()
        return self

    def _read(self) -> None:
        reader = consumer(self.settings, f"{self.settings.group_prefix}.clock")
        parts = []
        for topic in self.topics:
            meta = reader.list_topics(topic, timeout=10).topics[topic]
            parts += [
                TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions
            ]
        reader.assign(parts)
        try:
            while not self._stop.is_set() and len(self.stamps) < self.expected:
                for msg in reader.consume(1000, 0.2):
                    if msg.error():
                        continue
                    self.stamps.append(msg.timestamp()[1] / 1000)
                    if len(self.stamps) == self.warm_up:
                        if self.cpu:
                            self._cpu_marks.append(self.cpu())
                        if self.on_timing:
                            self.on_timing()
            if self.cpu and len(self.stamps) >= self.expected:
                self._cpu_marks.append(self.cpu())
        finally:
            reader.close()
            self._done.set()

    def wait(self, timeout: float, events_per_output: float = 1.0) -> Rate:
        """Block until every expected output was read; the rate after the warm-up.

        Raises:
            RuntimeError: fewer outputs than expected came within `timeout`.
        """
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.5):
            if time.monotonic() > deadline:
                self._stop.set()
                self._done.wait(5)
                raise RuntimeError(
                    f"{len(self.stamps)}/{self.expected} outputs on {self.topics}"
                )
        stamps = sorted(self.stamps)
        timed = len(stamps) - self.warm_up
        span = max(1e-6, stamps[-1] - stamps[self.warm_up])
        cpu = None
        if len(self._cpu_marks) == 2:
            used = self._cpu_marks[1] - self._cpu_marks[0]
            cpu = used * 1000 / (timed * events_per_output)
        return Rate(timed * events_per_output / span, cpu, len(stamps))
