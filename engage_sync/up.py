"""`engage-sync up`: child broker, org, worker and writer; demo traffic; live status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import nullcontext as _nothing
from importlib import resources
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live

from connectors.kafka.clients import ensure_topics
from connectors.kafka.embedded import EmbeddedBroker
from connectors.kafka.topics import Topics
from engage_sync.demo import DemoTraffic, demo_settings
from engage_sync.errors import require_kafka
from engage_sync.status import TopicCounter, plain_line, render_table
from engage_sync.supervisor import Child, Supervisor, cli_argv
from ground.metrics import DEFAULT_PORTS
from ground.settings import ConfigError, KafkaSettings, load
from sandbox.admin import SandboxAdmin

# How often the status is printed as a plain line when stdout is not a terminal.
PLAIN_STATUS_SECONDS = 5.0


def _wait_for_sandbox(
    data_dir: Path, url: str, child: Child, timeout: float = 60.0
) -> dict[str, str]:
    creds_file = data_dir / "credentials.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.popen.poll() is not None:
            raise SystemExit(
                f"engage-sync: the sandbox org failed to start; see {child.log}"
            )
        if creds_file.exists() and (data_dir / "ca.pem").exists():
            try:
                SandboxAdmin(url, data_dir / "ca.pem").stats()
                return dict(json.loads(creds_file.read_text())) | {"instance_url": url}
            except Exception:  # noqa: S110 - still starting
                pass
        time.sleep(0.2)
    raise SystemExit(
        f"engage-sync: the sandbox org did not answer in {timeout:.0f}s; "
        f"see {child.log}"
    )


# Package data, so `up` works from an installed wheel as well as from the checkout.
DEMO_SETTINGS = resources.files("engage_sync.examples") / "crm-settings.example.yaml"


def _bound(port: int) -> socket.socket | None:
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        probe.close()
        return None
    return probe


def pick_ports(usual: dict[str, int], others: tuple[str, ...]) -> dict[str, int]:
    """Distinct free ports for `up`'s children: each role its usual port when free,
    else any; `others` get any. Every probe stays bound until all are chosen, so the
    kernel cannot hand one port out twice (a child's metrics port equal to the
    sandbox's was seen under load when each probe was closed at once)."""
    held: list[socket.socket] = []
    chosen: dict[str, int] = {}
    try:
        for name in (*usual, *others):
            probe = _bound(usual[name]) if name in usual else None
            probe = probe or _bound(0)
            if probe is None:
                raise ConfigError("no free port on 127.0.0.1 for `up`'s children")
            held.append(probe)
            chosen[name] = int(probe.getsockname()[1])
    finally:
        for probe in held:
            probe.close()
    return chosen


def _apply_demo_settings(
    admin: SandboxAdmin,
    env: dict[str, str],
    data_dir: Path,
    children: Supervisor,
) -> None:
    """The demo org gets the example CRM settings (users mapped to its own sales
    reps), backfilling what its rules select."""
    from sandbox.seed import REP_DOMAIN

    reps = [u for u in admin.records("User") if str(u["Username"]).endswith(REP_DOMAIN)]
    settings_file = demo_settings(
        DEMO_SETTINGS, reps, data_dir / "crm-settings.demo.yaml"
    )
    for args in (
        ["settings", "apply", str(settings_file)],
        ["poll-history", "--object", "Lead"],
        ["poll-history", "--object", "Contact"],
    ):
        log = data_dir / "logs" / "setup.log"
        try:
            code = children.run("setup", cli_argv(*args), env, log, timeout=300)
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            raise SystemExit(f"engage-sync: `{' '.join(args)}` failed; see {log}")


def _stop_on_hangup_or_term() -> None:
    """SIGHUP (its terminal closed) and SIGTERM stop `up` as Ctrl-C does: the
    status loop ends and every child is stopped in order. Only the first one
    interrupts; the stop that follows is bounded by the supervisor's grace."""
    interrupted = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    for sig in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, interrupt)


def run_up(data_dir: Path, duration: float | None, rate: float) -> None:
    """Start broker (unless given), sandbox org, worker, writer, poller and console;
    show status until `duration`, Ctrl-C, SIGTERM or SIGHUP; then stop them all."""
    _stop_on_hangup_or_term()
    console = Console()
    data_dir = data_dir.resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = Supervisor(logs)
    try:
        _run(console, children, data_dir, duration, rate)
    finally:
        children.close()
    console.print("stopped: every child process has exited")


def _run(
    console: Console,
    children: Supervisor,
    data_dir: Path,
    duration: float | None,
    rate: float,
) -> None:
    logs = data_dir / "logs"
    kafka = load(KafkaSettings)
    broker: EmbeddedBroker | None = None
    if not kafka.bootstrap_servers:
        broker = EmbeddedBroker(
            log_path=logs / "broker.log",
            spawn=lambda argv, log: children.start("broker", argv, log=log).popen,
        ).start()
        kafka = kafka.model_copy(update={"bootstrap_servers": broker.bootstrap})
        console.print(
            f"[yellow]Embedded Tansu broker at {broker.bootstrap}: "
            "it keeps everything in "
            "memory, so each `up` starts from empty topics and re-applies the demo "
            "settings. Set KAFKA_BOOTSTRAP_SERVERS to use a real Kafka.[/]"
        )
    else:
        require_kafka(kafka)  # a given broker: one line now, not a hang later
    ensure_topics(kafka, Topics(kafka).all())
    sandbox_dir = data_dir / "sandbox"
    try:
        ports = pick_ports(DEFAULT_PORTS, ("sandbox-api", "console"))
        port, console_port = ports.pop("sandbox-api"), ports.pop("console")
        sandbox_child = children.cli(
            "sandbox",
            "sandbox",
            env={
                "SANDBOX_DATA_DIR": str(sandbox_dir),
                "SANDBOX_PORT": str(port),
                "SANDBOX_SEED_DEMO": "1",
                "METRICS_PORT": str(ports["sandbox"]),
            },
        )
        creds = _wait_for_sandbox(
            sandbox_dir, f"https://127.0.0.1:{port}", sandbox_child
        )
        admin = SandboxAdmin(creds["instance_url"], sandbox_dir / "ca.pem")
        env = kafka.as_env() | {
            "SALESFORCE_LOGIN_URL": creds["instance_url"],
            "SALESFORCE_CLIENT_ID": creds["client_id"],
            "SALESFORCE_USERNAME": creds["username"],
            "SALESFORCE_PRIVATE_KEY_FILE": str(sandbox_dir / "jwt-private-key.pem"),
            "SALESFORCE_CA_BUNDLE": str(sandbox_dir / "ca.pem"),
        }
        _apply_demo_settings(admin, env, data_dir, children)
        for role in ("worker", "writer", "poller"):
            children.cli(role, role, env=env | {"METRICS_PORT": str(ports[role])})
        console_url = _start_console(console, children, env, console_port)
        people = admin.records("Contact")[:200] + admin.records("Lead")[:200]
        counter = TopicCounter(kafka)
        counter.start()
        demo = DemoTraffic(kafka, people, rate)
        demo.start()
        console.print(
            f"Sandbox org: {creds['instance_url']} (CA {sandbox_dir / 'ca.pem'}); "
            f"logs in {logs}. Ctrl-C stops everything.\nMetrics: "
            + ", ".join(
                f"{role} http://127.0.0.1:{p}/metrics" for role, p in ports.items()
            )
        )
        _watch(
            console,
            counter,
            admin,
            children,
            demo,
            duration,
            ports["writer"],
            console_url,
        )
        console.print(
            "stopping: demo traffic, then worker and writer, then the sandbox…"
        )
        demo.stop_event.set()
        demo.join(10)
        children.stop_all(names=("worker", "writer"))
        final = counter.settled() | {
            "deliberate bad events": demo.deliberate_bad,
            "Salesforce API calls used": admin.stats()["api_calls"],
        }
        counter.stop_event.set()
        print("final status: " + json.dumps(final), flush=True)
    finally:
        # The broker last, so the others commit and close against a live one.
        children.stop_all(
            names=[c.name for c in children.children if c.name != "broker"]
        )
        if broker is not None:
            broker.stop()


def _start_console(
    console: Console, children: Supervisor, env: dict[str, str], port: int
) -> str:
    """The admin console beside the other parts; its login shown once, on the
    terminal only (never stdout, which may be a log)."""
    from engage_sync.console.first_login import make_login, tell_terminal

    login = make_login(os.environ)
    children.cli(
        "console", "console", env=env | login.env | {"CONSOLE_PORT": str(port)}
    )
    url = f"http://127.0.0.1:{port}"
    if login.password is None:
        console.print(f"Admin console: {url} (your CONSOLE_PASSWORD_HASH's login)")
        return url
    told = tell_terminal(
        f"Admin console: {url}  user admin  password {login.password}"
        + (f"\nAPI bearer token: {login.api_token}" if login.api_token else "")
        + "\n(shown once, here only)\n"
    )
    if not told:
        console.print(
            f"Admin console: {url}. Its generated login was not shown: `up` has no "
            "terminal and keeps secrets out of logs; set CONSOLE_PASSWORD_HASH "
            "(`engage-sync hash-password`) to choose one."
        )
    return url


def _budget_state(port: int) -> str:
    """`ok`, or `paused (reason)`, from the writer's /healthz."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            paused = json.loads(r.read()).get("budget_paused")
    except (OSError, ValueError):
        return "?"
    return f"paused ({paused})" if paused else "ok"


def _watch(
    console: Console,
    counter: TopicCounter,
    admin: SandboxAdmin,
    children: Supervisor,
    demo: DemoTraffic,
    duration: float | None,
    writer_port: int | None = None,
    console_url: str | None = None,
) -> None:
    """Until `duration` or Ctrl-C: a live table on a terminal, else a plain line
    every PLAIN_STATUS_SECONDS."""
    started = time.monotonic()
    live = Live(console=console, refresh_per_second=2, transient=False)
    plain = not console.is_terminal
    printed = started
    try:
        with live if not plain else _nothing():
            while duration is None or time.monotonic() - started < duration:
                dead = children.dead()
                if dead is not None:
                    raise SystemExit(
                        f"engage-sync: {dead.name} exited with "
                        f"{dead.popen.returncode}; "
                        f"see {dead.log}"
                    )
                snapshot = _status(counter, admin, demo, writer_port)
                if console_url is not None:
                    snapshot["admin console"] = console_url
                elapsed = time.monotonic() - started
                if not plain:
                    live.update(
                        render_table(snapshot, f"engage-sync up — {elapsed:,.0f}s")
                    )
                elif time.monotonic() - printed >= PLAIN_STATUS_SECONDS:
                    printed = time.monotonic()
                    print(plain_line(snapshot, elapsed), flush=True)
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _status(
    counter: TopicCounter,
    admin: SandboxAdmin,
    demo: DemoTraffic,
    writer_port: int | None,
) -> dict[str, object]:
    snapshot: dict[str, object] = {}
    for name, value in counter.snapshot().items():
        snapshot[name] = value
        if name == "dead letters":
            # Labelled, so nobody reads the demo's own broken events as a fault.
            snapshot["deliberate bad events"] = demo.deliberate_bad
    try:
        snapshot["Salesforce API calls used"] = admin.stats()["api_calls"]
    except Exception:  # noqa: BLE001 - the org may be stopping; the rest still shows
        snapshot["Salesforce API calls used"] = "?"
    if writer_port is not None:
        snapshot["writer API budget"] = _budget_state(writer_port)
    return snapshot
