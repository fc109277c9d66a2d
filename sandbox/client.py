"""A requests Session that trusts the sandbox CA even when REQUESTS_CA_BUNDLE is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests


class CaPinnedSession(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE override Session.verify for calls made
    without an explicit verify= (simple-salesforce makes all its calls that way),
    so the CA path is forced where requests merges environment settings."""

    def __init__(self, ca_path: Path | str) -> None:
        super().__init__()
        self.ca_path = str(ca_path)
        self.verify = self.ca_path

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        settings = super().merge_environment_settings(
            url, proxies, stream, verify, cert
        )
        settings["verify"] = self.ca_path
        return settings
