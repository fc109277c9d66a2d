"""The Faust application: run it with `engage-sync worker` (settings from env)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import faust

from connectors.kafka import clients
from connectors.kafka import config as kafka_config
from connectors.kafka.serde import Serde
from connectors.kafka.topics import Topics
from ground.settings import KafkaSettings, WorkerSettings

log = logging.getLogger(__name__)


def _shorten_fetch_wait(max_wait_ms: int) -> None:
    """faust-streaming hard-codes aiokafka's fetch_max_wait_ms=1500 for its consumer.

    A broker that holds an empty fetch for the whole wait adds up to 1.5 s to every
    quiet-to-busy transition; the fetcher reads the value when the consumer starts.
    """
    from faust.transport.drivers import aiokafka as driver

    thread = driver.AIOKafkaConsumerThread
    if getattr(thread, "_engage_sync_patched", False):
        return
    original = thread._create_worker_consumer

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    thread._create_worker_consumer = create  # type: ignore[method-assign]
    thread._engage_sync_patched = True  # type: ignore[attr-defined]


def app_options(
    kafka: KafkaSettings, worker: WorkerSettings, role: str
) -> dict[str, Any]:
    """The worker's faust.App settings (the benchmark's bare agent runs on them too)."""
    datadir = Path(tempfile.gettempdir()) / "engage-sync-faust" / kafka.group(role)
    datadir.mkdir(parents=True, exist_ok=True)
    return {
        **kafka_config.faust_broker(kafka),
        "key_serializer": "raw",
        "value_serializer": "raw",
        "store": "memory://",
        "web_enabled": False,
        "datadir": datadir,
        "topic_partitions": kafka.partitions,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": kafka.session_timeout_ms / 1000,
        "broker_heartbeat_interval": max(0.5, kafka.session_timeout_ms / 6000),
        "broker_commit_interval": 1.0,
        # Our own guarantee: acks after Kafka confirmed every output (see agents).
        "processing_guarantee": "at_least_once",
        "stream_buffer_maxsize": max(4096, worker.batch_size * 2),
    }


def create_app(kafka: KafkaSettings, worker: WorkerSettings) -> faust.App:
    """Build the app with every agent registered; nothing connects until it starts."""
    from streams.activity.agents import register as register_activity
    from streams.contacts import agents as contact_agents
    from streams.contacts.actions import ContactActions
    from streams.faust_state import ConsumerWatch, not_running, recording_supervisor
    from streams.health import WorkerHealth
    from streams.users.agents import register as register_user_checks
    from streams.worker_parts import WorkerParts

    kafka.require_bootstrap()
    _shorten_fetch_wait(worker.fetch_max_wait_ms)
    # Before the app: faust builds the agents' supervisor from its settings.
    health = WorkerHealth(worker.health_poll_seconds, ready=asyncio.Event())
    app = faust.App(
        kafka.group("worker"),
        **app_options(kafka, worker, "worker"),
        agent_supervisor=recording_supervisor(health),
    )
    health.consumer = ConsumerWatch(app)
    topics = Topics(kafka)
    producer = clients.AckingProducer(kafka)
    parts = WorkerParts.build(kafka)
    follower, contacts, users, context = (
        parts.follower, parts.contacts, parts.users, parts.context
    )
    health.ready = context.ready
    health.agents = lambda: not_running(app, (follower, users), context.ready)
    serde = Serde.for_kafka(kafka)
    activity = register_activity(app, topics, serde, producer, worker, context)
    register_user_checks(app, topics, serde, producer, worker)
    actions = ContactActions(
        contacts, release=activity.release, link_lock=context.link_lock
    )
    contact_agents.register(app, worker, contacts, actions, context.ready)
    # A user connecting releases their held activities (before start-up is done,
    # the release at its end covers them).
    users.on_connected = lambda user: (
        activity.release_held(user) if context.ready.is_set() else 0
    )

    @app.task
    async def follow_settings_and_users() -> None:
        # Loaded before agents' first batch: settings, users, parked activities.
        loop = asyncio.get_running_loop()
        try:
            for step in parts.load_steps():
                await loop.run_in_executor(None, step)
            context.ready.set()
            # Held activities of users who connected while no worker ran; after
            # `ready`, so a user connecting meanwhile is released by either path.
            await loop.run_in_executor(None, activity.release_held)
        except Exception as exc:
            # Loading: the agents wait for `ready` forever. Either way, say so on
            # /healthz (503) and in the log, and let the probes restart the process.
            log.exception("start-up loading failed")
            health.load_failed(exc)

    app.engage_context = context  # type: ignore[attr-defined]
    app.engage_health = health  # type: ignore[attr-defined]
    return app


def faust_worker(app: faust.App, loglevel: str) -> faust.Worker:
    """faust's Worker without its terminal spinner.

    With a log level of WARNING or above, faust keeps a spinner that sets the root
    logger to DEBUG and spins on every record: each `log.debug` of aiokafka's fetcher
    then builds a LogRecord, 10-13% of the worker's CPU at 1,000 events/s (py-spy).
    Without it the root logger stays at `loglevel`.
    """
    runner = faust.Worker(app, loglevel=loglevel, quiet=True)
    runner.spinner = None
    return runner


def run_worker(kafka: KafkaSettings, worker: WorkerSettings) -> None:
    """Create missing topics, then run the Faust worker until SIGTERM/SIGINT."""
    from connectors.kafka.lag_metrics import LagCollector
    from ground import metrics

    # Kafka and the registry were checked by the CLI before the verb (`cli._checked`):
    # a bad credential is one line there, before faust starts.
    clients.ensure_topics(kafka, Topics(kafka).all())
    app = create_app(kafka, worker)
    metrics.set_process("worker")
    # Loading Engage's copy can take minutes: alive (200), but not yet ready.
    health = app.engage_health  # type: ignore[attr-defined]
    server = metrics.serve(
        "worker", health, collectors=[LagCollector(kafka, kafka.group("worker"))]
    )
    try:
        faust_worker(app, worker.loglevel).execute_from_commandline()
    finally:
        if server is not None:
            server.stop()
