"""HTTPS server: request parsing, auth, API counting, faults and routing."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from sandbox import errors
from sandbox.access import API_DISABLED
from sandbox.admin_api import AdminApi
from sandbox.auth import OAuthError, check_bearer, token_endpoint
from sandbox.errors import ApiError
from sandbox.protocol import Request, Response
from sandbox.rest import RestApi, version_list
from sandbox.state import OrgState

log = logging.getLogger(__name__)
_FAULT_ERRORS = {
    "SERVER_UNAVAILABLE": ApiError(
        503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again."
    ),
    "UNKNOWN_EXCEPTION": ApiError(
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this "
        "ErrorId if you contact support: 1234567890-12345 "
        "(-1234567890)",
    ),
    "REQUEST_LIMIT_EXCEEDED": errors.limit_exceeded(),
}


@dataclass
class Outcome:
    response: Response | None  # None: drop the connection without answering


class SandboxApp:
    """Everything above the socket: turns a Request into an Outcome."""

    def __init__(self, state: OrgState) -> None:
        self.state = state
        self.rest = RestApi(state)
        self.admin = AdminApi(state)

    def dispatch(self, req: Request) -> Outcome:
        path = req.path.rstrip("/")
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            return Outcome(self.admin.handle(req))
        if path == "/services/oauth2/token":
            return Outcome(self._token(req))
        if path == "/services/data":
            return Outcome(Response(200, version_list()))
        if path.startswith("/services/data/"):
            return self._data(req)
        return Outcome(Response(404, errors.not_found().body()))

    def _token(self, req: Request) -> Response:
        if req.method != "POST":
            return Response(
                405,
                {"error": "invalid_request", "error_description": "must use HTTP POST"},
            )
        form = dict(
            parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        try:
            return Response(
                200, token_endpoint(self.state, form, req.header("Authorization"))
            )
        except OAuthError as err:
            return Response(err.status, err.body)

    def _limit_header(self, resp: Response) -> Response:
        resp.headers["Sforce-Limit-Info"] = (
            f"api-usage={self.state.api_usage()}/{self.state.daily_limit}"
        )
        return resp

    def _data(self, req: Request) -> Outcome:
        state = self.state
        try:
            check_bearer(state, req.header("Authorization"))
            if not state.access.api_enabled:
                raise API_DISABLED  # the login works; no REST call does
            allowed, _ = state.store.try_consume_api_call(state.daily_limit)
            if not allowed:
                raise errors.limit_exceeded()
        except ApiError as err:
            return Outcome(self._limit_header(Response.error(err)))
        delay = state.faults.latency_seconds()
        if delay:
            time.sleep(delay)  # injected server-side latency
        fault = state.faults.request_fault(is_write=req.method != "GET")
        if fault == "DROP_CONNECTION":
            return Outcome(None)
        if fault == "INVALID_SESSION_ID":
            state.store.revoke_tokens(("access",))
            return Outcome(self._limit_header(Response.error(errors.invalid_session())))
        if fault in _FAULT_ERRORS:
            return Outcome(self._limit_header(Response.error(_FAULT_ERRORS[fault])))
        resp = self.rest.handle(req)
        if fault == "DROP_AFTER_WRITE":
            return Outcome(None)  # the write is committed; the answer is lost
        return Outcome(self._limit_header(resp))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SandboxOrg/1.0"
    timeout = 120  # idle keep-alive connections end eventually
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle
        # plus the client's delayed ACK adds ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass  # the socket was dropped on purpose or by the client
        finally:
            self.server.track(self.connection, add=False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request.build(self.command, self.path, dict(self.headers.items()), body)
        with self.server.in_flight():
            try:
                outcome = self.server.app.dispatch(req)
            except Exception:  # a bug must not kill the connection thread silently
                log.exception("sandbox request failed: %s %s", self.command, self.path)
                outcome = Outcome(
                    Response(
                        500,
                        [
                            {
                                "message": "An unexpected error occurred.",
                                "errorCode": "UNKNOWN_EXCEPTION",
                            }
                        ],
                    )
                )
        if outcome.response is None:
            self._drop()
            return
        resp = outcome.response
        payload = resp.encoded()
        self.send_response(resp.status)
        if resp.body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            # Shut the TCP connection down without a TLS close_notify or any HTTP
            # answer: the client sees the peer vanish mid-request.
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s - " + format, self.address_string(), *args)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], app: SandboxApp, context: ssl.SSLContext
    ) -> None:
        super().__init__(address, _Handler)
        self.app = app
        # The TLS handshake is deferred to the connection's own thread so a slow
        # or broken client cannot stall the accept loop.
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self._conns: set[socket.socket] = set()
        self._busy = 0
        self._cond = threading.Condition()

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            (self._conns.add if add else self._conns.discard)(conn)

    def in_flight(self) -> _InFlight:
        return _InFlight(self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Called from the except block in socketserver, so exc_info is available.
        log.debug("sandbox connection error from %s", client_address, exc_info=True)  # noqa: LOG014

    def close_all(self, deadline_seconds: float = 10.0) -> None:
        """Wait for in-flight requests, then cut idle keep-alive connections."""
        end = time.monotonic() + deadline_seconds
        with self._cond:
            while self._busy and time.monotonic() < end:
                self._cond.wait(timeout=max(0.0, end - time.monotonic()))
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _InFlight:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server

    def __enter__(self) -> None:
        with self.server._cond:
            self.server._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self.server._cond:
            self.server._busy -= 1
            self.server._cond.notify_all()
