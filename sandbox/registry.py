"""A Confluent Schema Registry stand-in: `python -m sandbox.registry --port 8081`.

`fail()` makes it answer 500 until `recover()`, for outage tests.
Optionally behind HTTP basic auth (`--basic-auth user:password`, 401 otherwise, as
Confluent's registry and Confluent Cloud answer) and over HTTPS with a certificate
from `sandbox.tls` (`--tls-dir DIR`), so clients' auth and CA settings get tested.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import logging
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fastavro.schema import parse_schema

log = logging.getLogger(__name__)
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)


class RegistryError(Exception):
    """An answer in Confluent's error shape: `{"error_code", "message"}`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _canonical(body: Any) -> tuple[str, str]:
    """Validate a register/lookup body; return (schema as sent, comparison key)."""
    if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
        raise RegistryError(422, 42201, "Invalid schema: no 'schema' string in body")
    if body.get("schemaType", "AVRO") != "AVRO" or body.get("references"):
        # Our producers send self-contained Avro; anything else is out of scope.
        raise RegistryError(
            422, 42201, "Invalid schema: this stand-in takes Avro without references"
        )
    try:
        parsed = json.loads(body["schema"])
        parse_schema(parsed)
    except Exception as exc:  # fastavro raises several types on bad schemas
        raise RegistryError(422, 42201, f"Invalid schema: {exc}") from exc
    # Key order and whitespace carry no meaning in Avro JSON; docs and field order do,
    # as in the real registry (without ?normalize), so they stay in the key.
    return body["schema"], json.dumps(parsed, sort_keys=True, separators=(",", ":"))


class SchemaStore:
    """Global schema ids and per-subject versions, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schemas: list[str] = []  # id - 1 -> schema text as first registered
        self._ids: dict[str, int] = {}  # comparison key -> id (ids are global)
        self._subjects: dict[str, list[int]] = {}  # version - 1 -> id
        self.compatibility = "BACKWARD"
        self.subject_compatibility: dict[str, str] = {}

    def register(self, subject: str, body: Any) -> int:
        text, key = _canonical(body)
        with self._lock:
            schema_id = self._ids.get(key)
            if schema_id is None:
                self._schemas.append(text)
                schema_id = self._ids[key] = len(self._schemas)
            versions = self._subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def lookup(self, subject: str, body: Any) -> dict[str, Any]:
        _, key = _canonical(body)
        with self._lock:
            versions = self._versions(subject)
            schema_id = self._ids.get(key)
            if schema_id not in versions:
                raise RegistryError(404, 40403, "Schema not found")
            return self._answer(subject, versions.index(schema_id) + 1, schema_id)

    def schema(self, schema_id: int) -> str:
        with self._lock:
            if not 1 <= schema_id <= len(self._schemas):
                raise RegistryError(404, 40403, f"Schema {schema_id} not found")
            return self._schemas[schema_id - 1]

    def subjects(self) -> list[str]:
        with self._lock:
            return sorted(self._subjects)

    def versions(self, subject: str) -> list[int]:
        with self._lock:
            return list(range(1, len(self._versions(subject)) + 1))

    def version(self, subject: str, version: str) -> dict[str, Any]:
        with self._lock:
            versions = self._versions(subject)
            number = len(versions) if version in ("latest", "-1") else _int(version)
            if number is None or number < 1:
                raise RegistryError(
                    422,
                    42202,
                    f"The specified version '{version}' is not a valid version id. "
                    'Allowed values are between [1, 2^31-1] and the string "latest"',
                )
            if number > len(versions):
                raise RegistryError(404, 40402, f"Version {version} not found.")
            return self._answer(subject, number, versions[number - 1])

    def _versions(self, subject: str) -> list[int]:
        if subject not in self._subjects:
            raise RegistryError(404, 40401, f"Subject '{subject}' not found.")
        return self._subjects[subject]

    def _answer(self, subject: str, version: int, schema_id: int) -> dict[str, Any]:
        return {
            "subject": subject,
            "version": version,
            "id": schema_id,
            "schema": self._schemas[schema_id - 1],
        }


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _level(body: Any) -> str:
    level = body.get("compatibility") if isinstance(body, dict) else None
    if not isinstance(level, str) or level.upper() not in LEVELS:
        raise RegistryError(
            422,
            42203,
            "Invalid compatibility level. Valid values are none, backward, forward, "
            "full, backward_transitive, forward_transitive, and full_transitive",
        )
    return level.upper()


@dataclass(frozen=True)
class Logged:
    """One request as the stand-in saw it (path without the query string)."""

    method: str
    path: str
    query: str
    status: int


def route(
    store: SchemaStore,
    method: str,
    parts: list[str],
    query: dict[str, list[str]],
    body: Any,
) -> Any:
    """Answer one request; `parts` are the URL-decoded path segments."""
    match (method, parts):
        case ("GET", []):
            return {}
        case ("GET", ["schemas", "types"]):
            return ["AVRO"]
        case ("GET", ["schemas", "ids", sid]):
            # `?subject=` only scopes caching in the client; ids are global here.
            return {"schema": store.schema(_int(sid) or 0)}
        case ("GET", ["subjects"]):
            return store.subjects()
        case ("POST", ["subjects", subject, "versions"]):
            return {"id": store.register(subject, body)}
        case ("POST", ["subjects", subject]):
            return store.lookup(subject, body)
        case ("GET", ["subjects", subject, "versions"]):
            return store.versions(subject)
        case ("GET", ["subjects", subject, "versions", version]):
            return store.version(subject, version)
        case ("GET", ["subjects", subject, "versions", version, "schema"]):
            return json.loads(store.version(subject, version)["schema"])
        case ("GET", ["config"]):
            return {"compatibilityLevel": store.compatibility}
        case ("PUT", ["config"]):
            store.compatibility = _level(body)
            return {"compatibility": store.compatibility}
        case ("GET", ["config", subject]):
            level = store.subject_compatibility.get(subject)
            if level is None and query.get("defaultToGlobal") == ["true"]:
                level = store.compatibility
            if level is None:
                raise RegistryError(
                    404,
                    40408,
                    f"Subject '{subject}' does not have subject-level "
                    "compatibility configured",
                )
            return {"compatibilityLevel": level}
        case ("PUT", ["config", subject]):
            store.subject_compatibility[subject] = _level(body)
            return {"compatibility": store.subject_compatibility[subject]}
    # Deletes, modes, contexts, compatibility checks: nothing here calls them.
    raise RegistryError(404, 404, "HTTP 404 Not Found")


def _handler(stand_in: RegistryStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections

        def _serve(self) -> None:
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.split("/") if p]
            status, answer = 200, None
            try:
                # The body is read first even when failing: on a kept-alive
                # connection an unread body would garble the next request.
                body = self._body()
                stand_in.fault()
                stand_in.authorize(self.headers.get("Authorization"))
                answer = route(
                    stand_in.store, self.command, parts, parse_qs(url.query), body
                )
            except RegistryError as exc:
                status = exc.status
                answer = {"error_code": exc.code, "message": exc.message}
            stand_in.record(Logged(self.command, url.path, url.query, status))
            data = json.dumps(answer).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="SchemaRegistry"')
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return None
            try:
                return json.loads(self.rfile.read(length))
            except ValueError as exc:
                raise RegistryError(400, 400, f"Unparseable body: {exc}") from exc

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug(format, *args)

    return Handler


class RegistryStandIn:
    """The registry served from a background thread, over HTTP or HTTPS.

    Args:
        host: interface to bind.
        port: TCP port; 0 picks a free one (read `url` after `start`).
        basic_auth: "user:password" every request must carry (None: no auth).
        tls_dir: serve HTTPS with the CA and server certificate `sandbox.tls` keeps
            there (made on first use; clients trust `tls_dir/ca.pem`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        basic_auth: str | None = None,
        tls_dir: Path | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._expected = (
            None
            if basic_auth is None
            else "Basic " + base64.b64encode(basic_auth.encode()).decode()
        )
        self.tls_dir = tls_dir
        self.store = SchemaStore()
        self._log: list[Logged] = []
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._failing: int | None = None

    def fail(self, status: int = 500) -> None:
        """Answer every request with `status` until `recover()` (a registry outage:
        its backend store down, as Confluent's 50001 "Error in the backend")."""
        self._failing = status

    def recover(self) -> None:
        self._failing = None

    def fault(self) -> None:
        """Raise the injected failure, if one is in force."""
        status = self._failing
        if status is not None:
            raise RegistryError(status, status * 100 + 1, "Injected registry failure")

    def start(self) -> RegistryStandIn:
        if self._server is not None:
            raise RuntimeError("registry stand-in already started")
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        if self.tls_dir is not None:
            from sandbox import tls

            tls.ensure_tls_files(self.tls_dir, self.host)
            server.socket = tls.server_context(self.tls_dir).wrap_socket(
                server.socket, server_side=True
            )
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="schema-registry", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> RegistryStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_dir is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path | None:
        """The CA file a client must trust (HTTPS only)."""
        return None if self.tls_dir is None else self.tls_dir / "ca.pem"

    def authorize(self, header: str | None) -> None:
        """Refuse a request without the configured credentials, as the real registry
        does: 401 and error code 401 (constant-time comparison)."""
        if self._expected is None:
            return
        if header is None or not hmac.compare_digest(header, self._expected):
            raise RegistryError(401, 401, "Unauthorized")

    def record(self, entry: Logged) -> None:
        log.info("%s %s %s -> %d", entry.method, entry.path, entry.query, entry.status)
        with self._log_lock:
            self._log.append(entry)

    @property
    def requests(self) -> list[Logged]:
        """Every request answered so far, oldest first."""
        with self._log_lock:
            return list(self._log)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the Schema Registry stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    parser.add_argument("--basic-auth", help="user:password every request must carry")
    parser.add_argument("--tls-dir", type=Path, help="serve HTTPS (certs kept here)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with RegistryStandIn(
        args.host, args.port, basic_auth=args.basic_auth, tls_dir=args.tls_dir
    ) as registry:
        print(f"schema registry stand-in listening on {registry.url}", flush=True)
        while not stop.wait(0.5):
            pass


if __name__ == "__main__":
    main()
