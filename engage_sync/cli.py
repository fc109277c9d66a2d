"""The `engage-sync` command: one entry point for every process and operator task."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from engage_sync.errors import (
    one_line,
    require_kafka,
    require_registry,
    require_salesforce,
)
from engage_sync.supervisor import watch_parent
from ground.settings import (
    BudgetSettings,
    ConfigError,
    ConsoleSettings,
    KafkaSettings,
    MetricsSettings,
    SalesforceSettings,
    WorkerSettings,
    WriterSettings,
    load,
)

app = typer.Typer(
    help="Keep Engage and Salesforce in sync through Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


# Verbs that do not need Kafka checked first: `up` starts its own broker (and checks
# a given KAFKA_BOOTSTRAP_SERVERS itself), `sandbox` is the local org, `hash-password`
# only hashes.
NO_KAFKA = frozenset({"up", "sandbox", "hash-password"})
# Verbs that never need the registry (the CRM settings document uses schema
# fingerprints; dead letters are shown undecoded if need be): a registry outage must
# not stop an operator from looking at lag, dead letters or settings.
NO_REGISTRY = frozenset(
    {
        "topics",
        "lag",
        "dlq list",
        "dlq show",
        "dlq resubmit",
        "settings apply",
        "settings show",
        "status",
        # Its Connection page names an unreachable registry instead of not starting.
        "console",
    }
)


def _logging(level: str = "INFO") -> None:
    """Log lines go to stderr, so stdout carries only a verb's results."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # HTTP clients log every request at INFO (the registry client's httpx among
    # them): that is not the operator's news, and a failing check must stay one line.
    for noisy in ("httpx", "httpx2", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version

        typer.echo(f"engage-sync {version('engage-sync')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version."
        ),
    ] = False,
) -> None:
    # Every verb logs INFO to stderr; `up` keeps its terminal for the live status.
    _logging("WARNING" if ctx.invoked_subcommand == "up" else "INFO")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"engage-sync: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def up(
    duration: Annotated[
        float | None, typer.Option(help="Stop by itself after this many seconds.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Demo events per second.")] = 20.0,
    data_dir: Annotated[
        Path, typer.Option(help="Where logs and the sandbox live.")
    ] = Path(".engage-sync"),
) -> None:
    """Run the pipeline locally with demo traffic and live status (Ctrl-C stops)."""
    from engage_sync.up import run_up

    run_up(data_dir=data_dir, duration=duration, rate=rate)


@app.command()
def worker() -> None:
    """Run the Faust agents (activity events -> Salesforce commands)."""
    from streams.app import run_worker

    run_worker(load(KafkaSettings), load(WorkerSettings))


@app.command()
def writer() -> None:
    """Run the Salesforce writer (commands -> Salesforce, results -> Kafka)."""
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.lag_metrics import LagCollector
    from connectors.kafka.settings_topic import SettingsFollower
    from connectors.kafka.topics import Topics
    from connectors.salesforce.client import SalesforceClient
    from connectors.salesforce.errors import SalesforceError
    from connectors.salesforce.writer import SalesforceWriter, Stopping
    from ground import metrics

    kafka = load(KafkaSettings)
    salesforce = load(SalesforceSettings)
    require_salesforce(salesforce)
    metrics_settings = load(MetricsSettings)
    follower = SettingsFollower(kafka)
    sink = SalesforceWriter(
        kafka,
        load(WriterSettings),
        SalesforceClient(salesforce),
        settings_provider=lambda: follower.settings,
        budget=load(BudgetSettings),
    )
    metrics.set_process("writer")
    server = metrics.serve(
        "writer",
        sink.health,
        collectors=[LagCollector(kafka, kafka.group("writer"))],
        settings=metrics_settings,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sink.stop_event.set())
    try:
        # Settings first: the start-up access check needs to know what is written
        # (and on a first start, the settings topic must exist to be read).
        ensure_topics(kafka, Topics(kafka).all())
        follower.start_and_load()
        sink.start()
        sink.run()
    except Stopping:
        pass  # SIGTERM while waiting for Salesforce at start: nothing to redo
    except SalesforceError as exc:
        _fail(f"writer stopped: {exc.problem.message}", 3)
    finally:
        if server is not None:
            server.stop()
    s = sink.stats
    logging.getLogger("engage_sync.writer").info(
        "stopped: %d commands, %d written, %d failed", s.commands, s.written, s.failed
    )


@app.command()
def sandbox() -> None:
    """Run the local Salesforce sandbox org over HTTPS (settings: SANDBOX_* env)."""
    from sandbox.org import serve
    from sandbox.settings import SandboxSettings, SandboxSettingsError

    try:
        serve(load(SandboxSettings))
    except SandboxSettingsError as exc:
        _fail(str(exc))


@app.command()
def console() -> None:
    """Serve the admin console (settings: CONSOLE_* env; 127.0.0.1:8088 by default)."""
    import socket

    from engage_sync.console.server import serve

    settings = load(ConsoleSettings)
    with socket.socket() as probe:
        try:
            probe.bind((settings.host, settings.port))
        except OSError as exc:
            _fail(
                f"the console cannot listen on {settings.host}:{settings.port} "
                f"({exc.strerror}): set CONSOLE_PORT to a free port or CONSOLE_HOST"
            )
    serve(settings)


@app.command("hash-password")
def hash_password() -> None:
    """Read a password (prompt, or a line of stdin); print its CONSOLE_PASSWORD_HASH."""
    import getpass

    from engage_sync.console.security import hash_password as make_hash

    secret = (
        getpass.getpass("password: ")
        if sys.stdin.isatty()
        else sys.stdin.readline().rstrip("\n")
    )
    if not secret:
        _fail("an empty password cannot be hashed")
    typer.echo(make_hash(secret))


@app.command()
def produce(
    topic: Annotated[str, typer.Argument(help="Topic, e.g. engage.dialer.calls")],
    file: Annotated[
        typer.FileText, typer.Argument(help="JSON lines, one event each ('-' = stdin)")
    ],
) -> None:
    """Publish JSON lines as Avro events; any invalid line and nothing is published."""
    from engage_sync.produce import publish

    kafka = load(KafkaSettings)
    try:
        sent, errors = publish(kafka, topic, file)
    except (KeyError, ValueError) as exc:
        _fail(str(exc).strip("'\""))
        return
    if errors:
        for err in errors:
            typer.echo(f"line {err.line}: {err.message}", err=True)
        _fail(f"{len(errors)} invalid line(s); nothing was published", 1)
    typer.echo(f"published {sent} event(s) to {topic}")


@app.command("topics")
def create_topics() -> None:
    """Create every topic the pipeline uses (missing ones only)."""
    from connectors.kafka.clients import ensure_topics
    from connectors.kafka.topics import Topics

    kafka = load(KafkaSettings)
    created = ensure_topics(kafka, Topics(kafka).all())
    typer.echo(f"created: {', '.join(created) if created else 'nothing (all exist)'}")


def _register_subcommands() -> None:
    from engage_sync.commands import inbound
    from engage_sync.commands.settings import app as settings_app

    app.add_typer(settings_app, name="settings")
    contacts_app = typer.Typer(help="Engage's copy of contacts.")
    contacts_app.command("show")(inbound.contacts_show)
    app.add_typer(contacts_app, name="contacts")
    app.command("poller")(inbound.poller)
    app.command("poll-history")(inbound.poll_history)
    from engage_sync.commands.dlq import app as dlq_app

    app.add_typer(dlq_app, name="dlq")
    from engage_sync.commands.replay import replay

    app.command("replay")(replay)
    from engage_sync.commands import lag

    app.command("lag")(lag.lag)
    from engage_sync.commands.status import status

    app.command("status")(status)


_register_subcommands()


def _checked(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    """`callback`, after checking that Kafka (and the registry) answer."""

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        kafka = load(KafkaSettings)
        require_kafka(kafka)
        if name not in NO_REGISTRY:
            require_registry(kafka)
        return callback(*args, **kwargs)

    return checked


def _check_connections_first(root: typer.Typer, prefix: str = "") -> None:
    """Every verb, and every verb added later, checks its services before its work:
    librdkafka would otherwise wait forever on a dead bootstrap, or a listing would
    report "nothing" instead of "cannot reach"."""
    for info in root.registered_commands:
        assert info.callback is not None
        name = f"{prefix}{info.name or info.callback.__name__}".replace("_", "-")
        if name not in NO_KAFKA:
            info.callback = _checked(name, info.callback)
    for group in root.registered_groups:
        assert group.typer_instance is not None
        _check_connections_first(group.typer_instance, f"{prefix}{group.name} ")


_check_connections_first(app)


def main() -> None:
    """The console script: known failures end as one `engage-sync: ...` line."""
    watch_parent()  # started by a supervisor: end with it, however it ends
    try:
        app()
    except ConfigError as exc:
        typer.echo(exc.code, err=True)
        sys.exit(2)
    except Exception as exc:
        line = one_line(exc)
        if line is None:
            raise  # a bug: its traceback is what a report needs
        typer.echo(f"engage-sync: {line}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
