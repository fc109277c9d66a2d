"""What the benchmarks read of the processes they start: env, RSS, CPU seconds."""

from __future__ import annotations

import os
from pathlib import Path

from bench.clock import cpu_seconds


def proc_status(pid: int) -> dict[str, float]:
    """RSS and peak RSS (MB) and user+system CPU seconds of one live process."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    cpu = cpu_seconds(pid)
    return {
        "rss_mb": kb.get("VmRSS", 0) / 1024,
        "hwm_mb": kb.get("VmHWM", 0) / 1024,
        "cpu_s": cpu,
    }


def machine_load() -> str:
    """The 1-minute load average against the core count, for the file's reader."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
