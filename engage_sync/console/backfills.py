"""Poll Historical Data from the console: `poll-history` as a supervised child.

The console starts `engage-sync poll-history --object X` through the project's
supervisor (the child dies with the console), restarts it when it dies without
finishing (a kill, a crash, a lost connection), and it resumes from its cursor on
`engage.poller.state`. Progress is read back from that cursor (its `read` and
`total`), never from this process's memory, so a reload, a restart of the child or
of the console shows where the backfill really is. One child per object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from engage_sync.supervisor import Child, Supervisor, cli_argv
from ground.settings import KafkaSettings

# poll-history's exit codes that end a run for good: done, refused, budget pause.
DONE, REFUSED, PAUSED = 0, 1, 4
MAX_RESTARTS = 5
Argv = Callable[[str, bool], list[str]]
State = Literal["running", "done", "cancelled", "refused", "paused", "failed"]


class AlreadyRunning(RuntimeError):
    """A backfill of this object is running already: one at a time per object."""


def poll_history_argv(obj: str, all_records: bool) -> list[str]:
    """The command line of the CLI's own backfill (`--all` when ticked)."""
    return cli_argv(
        "poll-history", "--object", obj, *(["--all"] if all_records else [])
    )


@dataclass
class Job:
    """One backfill the console started: its current child and how it ended."""

    object: str
    all_records: bool
    child: Child
    started_at: datetime
    state: State = "running"
    restarts: int = 0
    exit_code: int | None = None
    message: str = ""
    # Where this run's output begins in the child's log (the log is appended to).
    log_offset: int = 0
    # The thread that waits for the children and restarts them (ends with the job).
    follower: threading.Thread | None = None


@dataclass
class Progress:
    """The history cursor's numbers, as saved after each page (durable)."""

    read: int
    total: int | None
    started_at: datetime | None
    updated_at: datetime | None
    done: bool

    @property
    def rate(self) -> float | None:
        """Records per second since the backfill began (pauses included)."""
        if not (self.started_at and self.updated_at and self.read):
            return None
        seconds = (self.updated_at - self.started_at).total_seconds()
        return self.read / seconds if seconds > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at that rate (0 when done, None while unknown)."""
        if self.done:
            return 0.0
        rate = self.rate
        if rate is None or self.total is None:
            return None
        return max(0, self.total - self.read) / rate


def history_progress(kafka: KafkaSettings, obj: str) -> Progress | None:
    """The object's backfill progress from `engage.poller.state` (None: never run)."""
    from connectors.kafka.ends import MissingTopic
    from connectors.salesforce.cursor import CursorStore

    try:
        cursor = CursorStore(kafka).load().get("history", obj)
    except MissingTopic:
        return None
    if cursor is None:
        return None

    def at(ms: int | None) -> datetime | None:
        return datetime.fromtimestamp(ms / 1000, UTC) if ms else None

    return Progress(
        cursor.read,
        cursor.total,
        at(cursor.started_ms),
        at(cursor.updated_ms),
        cursor.done,
    )


@dataclass
class Backfills:
    """Starts, restarts and cancels the console's backfill children.

    Args:
        kafka: Where the cursors (the progress) are read from.
        logs: Folder for each child's output (`backfill-<Object>.log`).
        argv: The command of one backfill (the CLI's `poll-history`).
        backoff: Seconds before a restart, times the restart's number.
        env: Added to the children's environment (they inherit the console's:
            its Kafka and Salesforce settings).
    """

    kafka: KafkaSettings
    logs: Path
    argv: Argv = poll_history_argv
    backoff: float = 1.0
    env: dict[str, str] = field(default_factory=dict)
    _jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.supervisor = Supervisor(self.logs, grace=10.0)

    def progress(self, obj: str) -> Progress | None:
        return history_progress(self.kafka, obj)

    def job(self, obj: str) -> Job | None:
        """The console's last backfill of `obj` (None: none since it started)."""
        with self._lock:
            return self._jobs.get(obj)

    def start(self, obj: str, all_records: bool) -> Job:
        """Start a backfill of `obj`; it resumes from the cursor when one is open.

        Raises:
            AlreadyRunning: One is running for `obj` (refused, nothing started).
        """
        with self._lock:
            running = self._jobs.get(obj)
            if running is not None and running.state == "running":
                raise AlreadyRunning(
                    f"a backfill of {obj} is already running (started "
                    f"{running.started_at:%H:%M:%S} UTC): wait for it or cancel it"
                )
            offset = self._log_size(obj)
            job = Job(obj, all_records, self._spawn(obj, all_records), _now())
            job.log_offset = offset
            self._jobs[obj] = job
        job.follower = threading.Thread(
            target=self._follow, args=(job,), name=f"backfill-{obj}", daemon=True
        )
        job.follower.start()
        return job

    def cancel(self, obj: str) -> bool:
        """Stop the running backfill of `obj` (its cursor stays where it got to).

        Returns:
            False when none was running.
        """
        with self._lock:
            job = self._jobs.get(obj)
            if job is None or job.state != "running":
                return False
            job.state = "cancelled"  # before the signal: the follower must not restart
            child = job.child
        self.supervisor.stop([child])
        return True

    def close(self) -> None:
        """Stop every child (the console is stopping)."""
        self._closed.set()
        self.supervisor.close()

    def _log_size(self, obj: str) -> int:
        log = self.logs / f"backfill-{obj}.log"
        return log.stat().st_size if log.exists() else 0

    def _spawn(self, obj: str, all_records: bool) -> Child:
        return self.supervisor.start(
            f"backfill-{obj}", self.argv(obj, all_records), self.env
        )

    def _follow(self, job: Job) -> None:
        """Wait for each child; restart it unless it finished, was refused, paused
        or cancelled, up to MAX_RESTARTS times."""
        while True:
            code = job.child.popen.wait()
            with self._lock:
                job.exit_code = code
                if job.state != "running":
                    return  # cancelled
                outcome = {DONE: "done", REFUSED: "refused", PAUSED: "paused"}.get(code)
                if outcome is None and job.restarts >= MAX_RESTARTS:
                    outcome = "failed"
                if outcome is not None:
                    job.state = outcome  # type: ignore[assignment]
                    job.message = self._last_line(job)
                    return
                job.restarts += 1
                wait = self.backoff * job.restarts
            if self._closed.wait(wait):
                return
            with self._lock:
                if job.state != "running":
                    return  # cancelled during the wait
                job.log_offset = self._log_size(job.object)
                job.child = self._spawn(job.object, job.all_records)

    def _last_line(self, job: Job) -> str:
        """The run's last `engage-sync:` line (its reason), else its last line."""
        try:
            with (self.logs / f"backfill-{job.object}.log").open("rb") as log:
                log.seek(job.log_offset)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        lines = [line.strip() for line in lines if line.strip()]
        reasons = [line for line in lines if line.startswith("engage-sync:")]
        return (reasons or lines or [""])[-1][:500]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
