"""Reading an uploaded CSV row by row: the file is never held in memory whole."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from engage_sync.imports.rows import Row, row_of

# Spreadsheets export UTF-8 with a byte-order mark; a stray byte of another
# encoding becomes U+FFFD instead of stopping the import.
ENCODING, ERRORS = "utf-8-sig", "replace"
# Some exports hold long notes; csv's default 128 KiB per field is too little.
csv.field_size_limit(4 * 1024 * 1024)


def _delimiter(first_line: str) -> str:
    """The header's most frequent of `,` `;` tab (Excel writes `;` in some locales)."""
    return max(",;\t", key=first_line.count) if first_line else ","


def cells(path: Path) -> Iterator[list[str]]:
    """Every non-empty row of the file as cells, header first, one at a time."""
    with path.open(encoding=ENCODING, errors=ERRORS, newline="") as handle:
        delimiter = _delimiter(handle.readline())
        handle.seek(0)
        for line in csv.reader(handle, delimiter=delimiter):
            if any(c.strip() for c in line):
                yield line


def headers(path: Path) -> list[str]:
    """The header row (empty for an empty file)."""
    return next(cells(path), [])


def rows(path: Path, mapping: Sequence[str], start: int = 1) -> Iterator[Row]:
    """The data rows from number `start` on, each with its mapped values."""
    source = cells(path)
    next(source, None)  # the header
    for number, line in enumerate(source, start=1):
        if number >= start:
            yield row_of(number, line, mapping)


def preview(path: Path, mapping: Sequence[str], count: int = 5) -> list[Row]:
    """The first `count` data rows, as the import will read them."""
    out = []
    for row in rows(path, mapping):
        out.append(row)
        if len(out) >= count:
            break
    return out


def spool(source: BinaryIO, target: Path, chunk: int = 1 << 20) -> int:
    """Copy an upload to `target` in chunks; returns the bytes written."""
    written = 0
    with target.open("wb") as out:
        while data := source.read(chunk):
            out.write(data)
            written += len(data)
    return written
