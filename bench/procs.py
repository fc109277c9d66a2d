"""What the benchmarks read of the processes they start: env, RSS, CPU seconds."""

from __future__ import annotations

import os
from pathlib import Path

from ground.settings import KafkaSettings

_TICKS = os.sysconf("SC_CLK_TCK")


def kafka_env(settings: KafkaSettings, **extra: str) -> dict[str, str]:
    """This process's env plus the namespace of `settings` (and `extra`)."""
    return (
        os.environ
        | {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers or "",
            "KAFKA_TOPIC_PREFIX": settings.topic_prefix,
            "KAFKA_GROUP_PREFIX": settings.group_prefix,
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "METRICS_PORT": "0",
        }
        | extra
    )


def proc_status(pid: int) -> dict[str, float]:
    """RSS and peak RSS (MB) and user+system CPU seconds of one live process."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = {
        line.split(":")[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(("VmRSS:", "VmHWM:"))
    }
    # /proc/PID/stat: fields 14 and 15 (utime, stime) follow the ")" of the name.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    return {
        "rss_mb": kb.get("VmRSS", 0) / 1024,
        "hwm_mb": kb.get("VmHWM", 0) / 1024,
        "cpu_s": cpu,
    }


def machine_load() -> str:
    """The 1-minute load average against the core count, for the file's reader."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
