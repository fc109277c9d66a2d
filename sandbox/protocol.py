"""Transport-neutral request/response objects shared by the server and composite."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from sandbox.errors import ApiError, json_parser_error


@dataclass
class Request:
    method: str
    path: str  # raw (still percent-encoded) path, no query string
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    _json: Any = None
    _parsed: bool = False

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Request:
        path, _, query = target.partition("?")
        return cls(
            method.upper(),
            path,
            parse_qs(query, keep_blank_values=True),
            {k.lower(): v for k, v in (headers or {}).items()},
            body,
        )

    @classmethod
    def with_json(
        cls,
        method: str,
        target: str,
        payload: Any,
        headers: dict[str, str] | None = None,
    ) -> Request:
        req = cls.build(method, target, headers)
        req._json, req._parsed = payload, True
        return req

    def segments(self) -> list[str]:
        """Decoded path segments; decoding per segment keeps an encoded '/' inside
        an external id value from splitting the path."""
        return [unquote(s) for s in self.path.split("/") if s]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            if not self.body.strip():
                self._json = None
            else:
                try:
                    self._json = json.loads(self.body)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise json_parser_error(f"Unexpected character: {exc}") from None
        return self._json

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise json_parser_error("Expected a JSON object in the request body")
        return data


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, err: ApiError) -> Response:
        return cls(err.status, err.body())

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()
