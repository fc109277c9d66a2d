"""Checking and saving CRM settings: one path for `settings apply` and the console.

`check_with_salesforce` is the whole validation against the org (grants first, then
describe). `save` publishes a valid document only if the topic still holds the one
the admin started from (`if_sha256`), and keeps it in the settings history.
"""

from __future__ import annotations

from typing import Any

from domain.crm_settings.describe_check import CREATED_BY, check_against_describe
from domain.crm_settings.models import CrmSettings
from ground.settings import KafkaSettings

# The sha256 a save gives when it was based on no settings at all (a first save).
NOTHING = "none"


class StaleSettings(RuntimeError):
    """Another save happened since the document this one was based on was read."""

    def __init__(self, expected: str, found: str | None, by: str | None) -> None:
        self.expected, self.found, self.by = expected, found, by
        who = f" by {by}" if by else ""
        super().__init__(
            f"the settings changed since you read them (you started from sha256 "
            f"{expected[:12]}, the topic now holds {(found or NOTHING)[:12]}{who}): "
            "nothing was saved; reload, then make your change again"
        )


def describes_for(
    client: Any, settings: CrmSettings, username: str | None
) -> dict[str, dict[str, Any]]:
    """Every describe the checks of `settings` need (the grants are checked first).

    Raises:
        AccessRefused: a missing grant (it would otherwise read as a bad field).
    """
    from connectors.salesforce.access import require_access

    describes = require_access(client, settings, username)
    names: set[str] = set(settings.objects) | (
        {"Account"} if "Contact" in settings.objects else set()
    )
    created = CREATED_BY.get(settings.sync_settings.engage_created_contacts)
    if created:  # the create pre-flight needs its describe even when unsynced
        names.add(created)
    for name in sorted(names - set(describes)):
        describes[name] = client.describe(name)
    return describes


def check_with_salesforce(
    client: Any, settings: CrmSettings, username: str | None
) -> list[str]:
    """Problems (`"<path>: <why>"`) of a valid document against the org.

    Raises:
        AccessRefused: the integration user lacks a grant the document needs.
    """
    return check_against_describe(settings, describes_for(client, settings, username))


def current_sha256(kafka: KafkaSettings) -> tuple[str, str | None]:
    """The sha256 of the settings in force (NOTHING when none) and who saved them."""
    from connectors.kafka.settings_topic import current

    found = current(kafka)
    if found is None:
        return NOTHING, None
    by = found[1].get("by")
    return str(found[1]["sha256"]), str(by) if by else None


def save(
    kafka: KafkaSettings,
    settings: CrmSettings,
    source: str | None,
    by: str,
    if_sha256: str | None = None,
) -> str:
    """Publish validated settings; returns the document's sha256.

    Args:
        kafka: where the `engage.settings` topic is.
        settings: a document already checked (`check_with_salesforce`).
        source: where it came from (a file name, "console").
        by: who saves it (the console's admin user, the CLI's OS user or --by).
        if_sha256: save only if the topic still holds this document (NOTHING: no
            settings yet); None saves whatever is there.

    Raises:
        StaleSettings: another save came in since `if_sha256` was read. The check
            reads the topic just before publishing: not atomic (docs/decisions.md).
    """
    from connectors.kafka.settings_topic import publish

    if if_sha256 is not None:
        found, found_by = current_sha256(kafka)
        if found != if_sha256.strip().lower():
            raise StaleSettings(if_sha256, found, found_by)
    return publish(kafka, settings, source, by=by)
