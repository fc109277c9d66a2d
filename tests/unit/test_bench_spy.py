"""bench/spy.py: py-spy's raw output summed by top frame and by our functions."""

from __future__ import annotations

from pathlib import Path

from bench import spy


def test_raw_samples_sum_by_top_frame_and_our_functions_per_part(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "run (threading.py);_serve (sandbox/server.py);put (sandbox/store.py) 6\n"
        "run (threading.py);_serve (sandbox/server.py);dumps (json/__init__.py) 2\n"
        "main (bench/run.py);encode (connectors/kafka/serde.py) 4\n"
    )

    def split(frames: list[str]) -> str:
        return "sandbox" if any("(sandbox/" in f for f in frames) else "load"

    found = spy.parse(raw, split)

    sandbox, load = found["sandbox"], found["load"]
    assert sandbox.samples == 8
    assert sandbox.leaf["put (sandbox/store.py)"] == 6
    assert sandbox.ours["_serve (sandbox/server.py)"] == 8
    assert "run (threading.py)" not in sandbox.ours
    assert load.samples == 4
    assert load.ours == {"encode (connectors/kafka/serde.py)": 4}


def test_a_missing_recording_gives_no_profile(tmp_path: Path) -> None:
    assert spy.parse(tmp_path / "absent.txt") == {}


def test_samples_go_to_the_innermost_library_and_bare_stdlib_to_stdlib(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        # faust calls our handler, which calls json: ours (innermost library frame)
        "run (asyncio/events.py);_execute (faust/agents/agent.py);"
        "handle (streams/activity/processor.py);dumps (json/__init__.py) 5\n"
        # aiokafka's fetcher parsing records
        "run (asyncio/events.py);_fetch (aiokafka/consumer/fetcher.py) 3\n"
        "run (asyncio/events.py);on_message (mode/utils/queues.py) 1\n"
        # the event loop's own work, under the loop mode started
        "execute (mode/worker.py);_run_once (asyncio/base_events.py) 2\n"
        # a thread of no library
        "run (threading.py);select (selectors.py) 4\n"
    )

    total, found = spy.libraries(raw)

    assert total == 15
    assert found == {
        "ours": 5,
        "aiokafka": 3,
        "faust + mode": 1,
        "asyncio": 2,
        "stdlib": 4,
    }


def test_by_library_line_gives_each_librarys_share_largest_first() -> None:
    from collections import Counter

    line = spy.by_library("worker", (200, Counter({"ours": 50, "asyncio": 150})))

    assert line == "worker (200 samples): asyncio 75%, ours 25%"
