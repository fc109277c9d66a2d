"""`make bench`: runs every registered part in one process, writes docs/benchmarks.md.

A part is a function `run(bench: Bench) -> list[str]` returning its Markdown section
(heading included). To add one, add a line to PARTS; parts run in that order, and a
part that fails is reported in its section without stopping the others.
BENCH_PARTS=name,name runs only those (printed, or written to BENCH_OUT);
BENCH_QUICK=1 runs every part at a tenth of its sizes (`Bench.size`).
"""

from __future__ import annotations

import importlib
import os
import platform
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.context import BROKER_NAMES, Bench, PartRun

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

# (name, "module:function"): one line per part.
PARTS: list[tuple[str, str]] = [
    ("headline throughput", "bench.headline:run"),
    ("inbound", "bench.inbound:run"),
    ("api economy", "bench.economy:run"),
    ("latency at load", "bench.apache:latency"),
    ("1M contacts", "bench.apache:state_scale"),
    ("1M-record backfill", "bench.apache:backfill_scale"),
    ("scale-out", "bench.apache:scale_out"),
]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load(target: str) -> PartRun:
    module, function = target.split(":")
    run: PartRun = getattr(importlib.import_module(module), function)
    return run


def main() -> None:
    bench = Bench()
    only = {p.strip() for p in os.environ.get("BENCH_PARTS", "").split(",") if p}
    sections: list[str] = []
    took: list[str] = []
    try:
        for name, target in PARTS:
            if only and name not in only:
                continue
            print(f"== {name}", flush=True)
            started = time.monotonic()
            try:
                sections += _load(target)(bench)
            except Exception:  # noqa: BLE001 - one part's failure is reported, not fatal
                sections += [
                    f"## {name}",
                    "",
                    "**FAILED**:",
                    "",
                    "```",
                    traceback.format_exc()[-3000:],
                    "```",
                ]
            sections.append("")
            took.append(f"{name} {time.monotonic() - started:.0f} s")
    finally:
        bench.close()
    header = [
        "# Benchmarks",
        "",
        f"Written by `{'BENCH_QUICK=1 ' if bench.quick else ''}make bench` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        f"{' (a tenth of the sizes)' if bench.quick else ''}; parts: "
        f"{', '.join(took)}.",
        f"Machine: {os.cpu_count()} cores, {_cpu()}, "
        f"Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average "
        f"{os.getloadavg()[0]:.1f} at the end. Brokers: "
        + "; ".join(f"{k}: {v}" for k, v in BROKER_NAMES.items())
        + ". Salesforce: the project's sandbox org over HTTPS.",
        "",
        "The machine is shared and noisy: wall-clock rates move between runs, so "
        "every ratio compares figures of the same run, and CPU seconds per 1,000 "
        "events (from /proc, per process) are given beside them as the steadier "
        "figure.",
        "",
    ]
    text = "\n".join(header + sections)
    # A run of some parts only (BENCH_PARTS) does not replace the whole file.
    out = os.environ.get("BENCH_OUT") or ("" if only else str(OUT))
    if out:
        Path(out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
