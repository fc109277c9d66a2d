"""One producer shared by agents: each flush answers for the records its own caller
(a thread, or an asyncio task) produced, so no agent commits a batch whose records
failed and none is blamed for another's failure."""

from __future__ import annotations

import asyncio
import threading

from connectors.kafka.clients import AckingProducer, DeliveryFailed, ensure_topics
from connectors.kafka.topics import TopicSpec
from ground.settings import KafkaSettings

# A failure only the broker reports, asynchronously: a 4 KB record to a topic that
# takes at most 1 KB (MESSAGE_TOO_LARGE). It has a topic of its own, so no good
# record ever shares its batch.
SMALL = {"max.message.bytes": "1024"}


def _topic(settings: KafkaSettings) -> str:
    name = f"{settings.topic_prefix}flush.scopes"
    ensure_topics(
        settings,
        [
            TopicSpec(name, 2, None, "none"),
            TopicSpec(f"{name}.small", 1, None, "none", SMALL),
        ],
    )
    return name


def _producer(settings: KafkaSettings) -> AckingProducer:
    return AckingProducer(settings)


def _send(producer: AckingProducer, topic: str, good: int, bad: int) -> None:
    for i in range(good):
        producer.produce(topic, b"good-%d" % i, b"k", partition=i % 2)
    for i in range(bad):
        producer.produce(f"{topic}.small", b"x" * 4096, b"bad-%d" % i)


def _flush(producer: AckingProducer) -> str:
    try:
        producer.flush(30)
        return "ok"
    except DeliveryFailed:
        return "failed"


def test_a_flush_neither_takes_nor_hides_another_threads_delivery_failure(
    kafka_settings: KafkaSettings,
) -> None:
    topic, producer = _topic(kafka_settings), _producer(kafka_settings)
    produced, may_flush = threading.Event(), threading.Event()
    outcome: list[str] = []

    def other_agent() -> None:
        _send(producer, topic, 3, 1)
        produced.set()
        may_flush.wait(60)
        outcome.append(_flush(producer))

    other = threading.Thread(target=other_agent)
    other.start()
    assert produced.wait(30)
    _send(producer, topic, 5, 0)

    mine = _flush(producer)  # serves the other agent's failed delivery, too
    may_flush.set()
    other.join(60)

    assert mine == "ok"
    assert outcome == ["failed"]


def test_concurrent_flushes_each_report_exactly_their_own_failures(
    kafka_settings: KafkaSettings,
) -> None:
    topic, producer = _topic(kafka_settings), _producer(kafka_settings)
    workers = 4
    for round_no in range(4):
        start = threading.Barrier(workers)
        outcome: dict[int, str] = {}

        def work(n: int, bad: int, start=start, outcome=outcome) -> None:
            _send(producer, topic, 20, bad)
            start.wait(30)
            outcome[n] = _flush(producer)

        threads = [
            threading.Thread(target=work, args=(n, (n + round_no) % 2))
            for n in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

        expected = {n: "failed" if (n + round_no) % 2 else "ok" for n in range(workers)}
        assert outcome == expected, f"round {round_no}"


def test_two_agents_in_one_event_loop_each_hear_only_of_their_records(
    kafka_settings: KafkaSettings,
) -> None:
    topic, producer = _topic(kafka_settings), _producer(kafka_settings)

    async def agent(bad: int, may_flush: asyncio.Event, flushed: asyncio.Event) -> str:
        _send(producer, topic, 10, bad)
        await may_flush.wait()
        try:
            await producer.flush_async(30)
            return "ok"
        except DeliveryFailed:
            return "failed"
        finally:
            flushed.set()

    async def both() -> list[str]:
        good_go, good_done = asyncio.Event(), asyncio.Event()
        bad_go, bad_done = asyncio.Event(), asyncio.Event()
        good = asyncio.create_task(agent(0, good_go, good_done))
        bad = asyncio.create_task(agent(1, bad_go, bad_done))
        await asyncio.sleep(0)  # both have produced
        good_go.set()
        await good_done.wait()  # the good agent flushed first, serving both
        bad_go.set()
        return [await good, await bad]

    assert asyncio.run(both()) == ["ok", "failed"]
