"""The worker's faust Worker keeps the root logger at the configured level: faust's
terminal spinner would set it to DEBUG and make every library debug call (aiokafka's
fetcher logs one per fetch) build a LogRecord only to drop it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import faust
import pytest

from streams.app import faust_worker


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_warning_level_worker_leaves_library_debug_calls_disabled(
    root_logging: None,
) -> None:
    app = faust.App("logging-check", broker="kafka://127.0.0.1:1")
    runner = faust_worker(app, "WARNING")

    runner._setup_logging()  # what execute_from_commandline does first

    assert logging.getLogger().level == logging.WARNING
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    assert not fetcher.isEnabledFor(logging.DEBUG)
