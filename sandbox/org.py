"""SandboxOrg: the public entry point that wires storage, TLS and the HTTPS server."""

from __future__ import annotations

import errno
import json
import secrets
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import ids, tls
from sandbox.access import OrgAccess
from sandbox.admin_api import AdminApi, ensure_integration_user
from sandbox.faults import FaultInjector, FaultPlan
from sandbox.metadata import OrgConfig, Schema
from sandbox.metrics import serve_metrics
from sandbox.rules import RuleSet
from sandbox.seed import REPS, seed
from sandbox.server import SandboxApp, SandboxServer
from sandbox.settings import SandboxSettings, SandboxSettingsError, load_settings
from sandbox.state import Credentials, OrgState
from sandbox.store import Store

CREDENTIALS_FILE = "credentials.json"
DB_FILE = "org.sqlite3"


@dataclass(frozen=True)
class SandboxCredentials:
    client_id: str
    client_secret: str
    username: str
    password: str
    private_key_path: Path


def _load_or_create_credentials(data_dir: Path) -> dict[str, str]:
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        return dict(json.loads(path.read_text()))
    # Random org/user ids per data dir, shaped like real ones (00D…, 005…).
    org_seq, user_seq = secrets.randbelow(62**6), secrets.randbelow(62**6)
    creds = {
        "client_id": "3MVG9"
        + secrets.token_urlsafe(60).replace("-", "A").replace("_", "B"),
        "client_secret": secrets.token_hex(32).upper(),
        "username": "integration@engage-sync.sandbox",
        "password": secrets.token_urlsafe(18),
        "org_id": ids.make_id("00D", org_seq),
        "user_id": ids.make_id("005", user_seq),
    }
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)
    return creds


class SandboxOrg:
    """A local Salesforce org served over HTTPS from a background thread."""

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        daily_api_limit: int = 5_000_000,
        page_size: int = 2000,
        token_ttl_seconds: float | None = None,
        seed_demo: bool = False,
        task_custom_fields: bool | None = None,
        ext_id_unique: bool | None = None,
        fault_plan: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host, self.port = host, port
        self.daily_api_limit, self.page_size = daily_api_limit, page_size
        self.token_ttl_seconds, self.seed_demo = token_ttl_seconds, seed_demo
        self._config_overrides = {
            k: v
            for k, v in (
                ("task_custom_fields", task_custom_fields),
                ("ext_id_unique", ext_id_unique),
            )
            if v is not None
        }
        self._fault_plan = fault_plan
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._state: OrgState | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> SandboxOrg:
        if self._server is not None:
            raise RuntimeError("sandbox org already started")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tls.ensure_tls_files(self.data_dir, self.host)
        public_key = tls.ensure_jwt_key(self.data_dir)
        raw = _load_or_create_credentials(self.data_dir)
        creds = Credentials(
            raw["client_id"],
            raw["client_secret"],
            raw["username"],
            raw["password"],
            raw["org_id"],
            raw["user_id"],
            public_key,
        )
        probe = Schema()
        store = Store(self.data_dir / DB_FILE, probe.external_id_fields())
        config = OrgConfig().updated(store.get_setting("config", {}))
        config = config.updated(self._config_overrides)
        store.set_setting("config", config.to_json())
        state = OrgState(
            store=store,
            schema=Schema(config),
            rules=RuleSet.from_json(store.get_setting("rules")),
            access=OrgAccess.from_json(store.get_setting("access")),
            faults=FaultInjector(FaultPlan.from_json(self._fault_plan)),
            creds=creds,
            daily_limit=self.daily_api_limit,
            page_size=self.page_size,
            token_ttl=self.token_ttl_seconds,
        )
        state.set_daily_limit(self.daily_api_limit)
        ensure_integration_user(state)
        server = SandboxServer(
            (self.host, self.port), SandboxApp(state), tls.server_context(self.data_dir)
        )
        port = server.server_address[1]
        url_host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        state.url = f"https://{url_host}:{port}"
        if self.seed_demo and not store.counts().get("Lead"):
            seed(AdminApi(state).records, 50, 50, 1, reps=len(REPS))
        self._state, self._server = state, server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"sandbox-org-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, state = self._server, self._state
        if server is None or state is None:
            return
        server.shutdown()
        server.close_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        state.store.close()
        self._server = self._thread = None

    def __enter__(self) -> SandboxOrg:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- public attributes ---------------------------------------------------------
    @property
    def _running(self) -> OrgState:
        if self._state is None:
            raise RuntimeError("sandbox org not started")
        return self._state

    @property
    def url(self) -> str:
        return self._running.url

    @property
    def ca_path(self) -> Path:
        return self.data_dir / tls.CA_CERT

    @property
    def credentials(self) -> SandboxCredentials:
        c = self._running.creds
        return SandboxCredentials(
            c.client_id,
            c.client_secret,
            c.username,
            c.password,
            self.data_dir / tls.JWT_KEY,
        )

    @property
    def store(self) -> Store:
        return self._running.store

    @property
    def state(self) -> OrgState:
        return self._running

    def api_calls_used(self) -> int:
        return self._running.api_usage()


def serve(settings: SandboxSettings) -> None:
    """Run a sandbox org in the foreground until SIGTERM/SIGINT.

    Args:
        settings: where it listens, its data dir, limits and fault plan.

    Raises:
        SandboxSettingsError: its port or its metrics port cannot be used.
    """
    stop = threading.Event()
    # Handlers first: the org answers as soon as it starts, and a SIGTERM sent
    # then must stop it cleanly, not kill the process mid-start.
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    s = settings
    org: SandboxOrg | None = None
    server = None
    try:
        org = SandboxOrg(
            s.data_dir,
            s.host,
            s.port,
            daily_api_limit=s.daily_api_limit,
            page_size=s.page_size,
            token_ttl_seconds=s.token_ttl_seconds,
            seed_demo=s.seed_demo,
            fault_plan=s.fault_plan,
        )
        _start(org)
        server = serve_metrics(org.state, s.metrics_host, s.metrics_port)
        print(f"sandbox org listening on {org.url}", flush=True)
        print(f"CA certificate: {org.ca_path}", flush=True)
        print(f"credentials: {org.data_dir / CREDENTIALS_FILE}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        if server is not None:
            server.stop()
        if org is not None:
            org.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start(org: SandboxOrg) -> None:
    try:
        org.start()
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise SandboxSettingsError(
            f"the sandbox cannot listen on {org.host}:{org.port} ({exc.strerror}): "
            "set SANDBOX_PORT to a free port (0 = any) or SANDBOX_HOST"
        ) from None


def main() -> None:
    """`python -m sandbox`: the org from SANDBOX_* env, as `engage-sync sandbox`."""
    try:
        serve(load_settings())
    except SandboxSettingsError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
