"""The header names a dead letter carries: Kafka Connect's, so its tools read them."""

from __future__ import annotations

from typing import Final

# Kafka Connect's `errors.deadletterqueue.context.headers.enable` names.
TOPIC: Final = "__connect.errors.topic"
PARTITION: Final = "__connect.errors.partition"
OFFSET: Final = "__connect.errors.offset"
EXCEPTION_CLASS: Final = "__connect.errors.exception.class.name"
EXCEPTION_MESSAGE: Final = "__connect.errors.exception.message"
# Ours: why Engage refused the record, a short stable word to group letters by.
REASON: Final = "engage.errors.reason"
