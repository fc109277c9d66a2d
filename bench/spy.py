"""py-spy samples of the processes a part runs, as top-entry tables (on when the
venv has py-spy; BENCH_PYSPY=0 turns it off).

py-spy records each process (`--nonblocking`, so the target is never paused) for a
fixed span; its raw output (one collapsed stack and a count per line) is summed by
the function on top of the stack (self time) and by our own functions anywhere in
it (inclusive time), as shares of the process's samples.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
ENABLED = os.environ.get("BENCH_PYSPY", "1") not in ("", "0") and PY_SPY.exists()
# Our packages: a frame from one of them counts as ours for the inclusive table.
OURS = ("streams/", "connectors/", "domain/", "ground/", "sandbox/", "engage_sync/")


@dataclass
class Recording:
    """One py-spy run on one process."""

    name: str
    out: Path
    proc: subprocess.Popen[bytes]

    def wait(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """End an open-ended recording: py-spy writes its file on SIGINT."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.wait(30)


@dataclass
class Profile:
    """Samples of one process summed by function."""

    name: str
    samples: int = 0
    leaf: Counter[str] = field(default_factory=Counter)
    ours: Counter[str] = field(default_factory=Counter)

    def top(self, which: Counter[str], n: int) -> str:
        total = max(1, self.samples)
        return "; ".join(f"{k} {100 * v / total:.0f}%" for k, v in which.most_common(n))


def record(
    name: str, pid: int, seconds: float | None, folder: Path
) -> Recording:
    """Start sampling `pid` for `seconds`, or until `Recording.stop` when None
    (returns at once)."""
    out = folder / f"pyspy-{name}-{pid}.txt"
    argv = [str(PY_SPY), "record", "--nonblocking", "--gil", "--nolineno", "-f", "raw"]
    argv += ["-r", "50", "-o", str(out)]
    if seconds is not None:
        argv += ["-d", str(max(1, int(seconds)))]
    proc = subprocess.Popen(  # noqa: S603 - our own venv's py-spy
        [*argv, "--pid", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Recording(name, out, proc)


def parse(
    path: Path, split: Callable[[list[str]], str] = lambda _: ""
) -> dict[str, Profile]:
    """Sum a raw py-spy file (frames as `func (package/module.py)`): self time by top
    frame, inclusive time by our functions; `split` names the part of the process a
    stack belongs to (e.g. the sandbox's threads against the load generator)."""
    profiles: dict[str, Profile] = {}
    if not path.exists():
        return profiles
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        part = split(frames)
        prof = profiles.setdefault(part, Profile(part))
        prof.samples += n
        prof.leaf[frames[-1]] += n
        for f in {f for f in frames if any(f"({p}" in f for p in OURS)}:
            prof.ours[f] += n
    return profiles


def lines(profiles: list[Profile], n: int = 6) -> list[str]:
    """Markdown table rows: per process its top self and top inclusive entries."""
    out = [
        "| process (samples at 50/s) | top self time | top of our functions "
        "(inclusive) |",
        "|---|---|---|",
    ]
    for p in profiles:
        out.append(
            f"| {p.name} ({p.samples:,}) | {p.top(p.leaf, n)} | {p.top(p.ours, n)} |"
        )
    return out


def by_library(name: str, found: tuple[int, Counter[str]]) -> str:
    """One line: a process's samples as shares per library (see `libraries`)."""
    total, libs = found
    shares = ", ".join(
        f"{lib} {100 * n / max(1, total):.0f}%" for lib, n in libs.most_common()
    )
    return f"{name} ({total:,} samples): {shares}"


# Where a sample's CPU is spent, by library: the innermost frame that belongs to one
# of these (a frame's file is shown as `package/module.py`). asyncio counts apart
# (the event loop's own work; it sits below every Faust frame, as mode starts the
# loop); a stack with none of these (threads, selectors) counts as "stdlib".
LIBRARIES = {
    **{p.rstrip("/"): "ours" for p in OURS},
    "bench": "ours",
    "faust": "faust + mode",
    "mode": "faust + mode",
    "aiokafka": "aiokafka",
    "kafka": "aiokafka",
    "fastavro": "fastavro",
    "confluent_kafka": "confluent-kafka",
    "asyncio": "asyncio",
}


def _library(frame: str) -> str | None:
    _, _, where = frame.rpartition(" (")
    return LIBRARIES.get(where.split("/", 1)[0])


def libraries(path: Path) -> tuple[int, Counter[str]]:
    """A raw py-spy file's samples summed by the library whose code was running
    (fastavro's and librdkafka's C work counts in their Python caller)."""
    total, found = 0, Counter[str]()
    if not path.exists():
        return total, found
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        lib = next(
            (lib for f in reversed(frames) if (lib := _library(f))), "stdlib"
        )
        found[lib] += int(count)
        total += int(count)
    return total, found
