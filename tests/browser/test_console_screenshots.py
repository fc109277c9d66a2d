"""`make screenshots`'s code, run into a temporary folder: one real PNG per page."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ground.settings import KafkaSettings
from tests.browser.screenshots import console, demo_org, names, seed_demo, take

PNG = b"\x89PNG\r\n\x1a\n"


def _size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG, path.name
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_screenshots_cover_the_login_and_every_page_of_the_nav(
    browser: Any, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    org = demo_org(tmp_path)
    try:
        seed_demo(kafka_settings, org, tmp_path)
        with console(kafka_settings, org, tmp_path) as (url, password):
            written = take(browser, url, password, tmp_path / "shots")
    finally:
        org.stop()
    assert [p.name for p in written] == names()
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == sorted(names())
    for path in written:
        width, height = _size(path)
        assert width == 1280 and height >= 600, path.name
        # A blank page compresses to a few hundred bytes; a rendered one does not.
        assert path.stat().st_size > 8_000, path.name
