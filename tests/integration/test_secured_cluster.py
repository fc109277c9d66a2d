"""The whole pipeline on a secured cluster: SASL_SSL (SCRAM-SHA-512, a private CA)
and a Schema Registry behind basic auth over HTTPS, as on Confluent Cloud or MSK.

Apache Kafka with a SASL_SSL listener that enforces ACLs is started for this module;
each role runs as its own SASL user with exactly the ACLs the README lists for it
(`tests/acls.py`), so a missing ACL fails the scenario. Its PLAINTEXT listener (a
super user) only grants them. A wrong password or a CA that did not sign the broker's
certificate stops each process with one line naming the setting, and no password
appears in any log, output or topic.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.kafka import clients
from connectors.kafka.clients import AckingProducer
from connectors.kafka.ends import TopicReader
from connectors.kafka.serde import Serde
from connectors.kafka.snapshot import latest_values
from connectors.kafka.topics import Topics
from engage_sync.supervisor import cli_argv
from ground.settings import KafkaSettings
from sandbox.admin import SandboxAdmin
from sandbox.registry import RegistryStandIn
from sandbox.tls import ensure_tls_files
from tests.acls import grant, role_grants
from tests.brokers import ApacheKafka, BrokerUnavailable, SaslSsl, in_ci
from tests.conftest import REPO, Proc, Processes, kafka_env, salesforce_env
from tests.factories import call_event, contact_ref
from tests.reliability.secrets_scan import Secret, file_blobs, scan, topic_blobs
from tests.waiting import wait_until

USER = "engage"  # the test's own clients: ACLs for everything
PASSWORD = "Scram-pw-for-engage-0042"  # noqa: S105 - planted test secrets
ROLES = (
    *("topics", "worker", "writer", "poller", "settings"),
    *("lag", "dlq", "replay", "contacts"),
)
ROLE_PASSWORDS = {role: f"Scram-pw-for-{role}-0042" for role in ROLES}
WRONG_PASSWORD = "Wrong-scram-pw-0042-xyz"  # noqa: S105
REGISTRY_SECRET = "registry-api-secret-0042"  # noqa: S105
SETTINGS_YAML = """
objects:
  Lead:
    sync: true
    poll_interval: 10s
    rules: {any: [{field: Title, op: contains, value: Sales}]}
"""
CALLS = 12
ADMIN_GRANTS = role_grants(KafkaSettings(KAFKA_BOOTSTRAP_SERVERS="x:1"))["admin"]
START_FAILS_WITHIN = 30.0


@dataclass(frozen=True)
class SecuredCluster:
    broker: ApacheKafka
    ca: Path  # the CA that signed the broker's certificate
    other_ca: Path  # a CA that did not
    registry: RegistryStandIn


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredCluster]:
    tls = tmp_path_factory.mktemp("kafka-tls")
    ensure_tls_files(tls, "127.0.0.1")
    other = tmp_path_factory.mktemp("other-tls")
    ensure_tls_files(other, "127.0.0.1")
    broker = ApacheKafka(
        tmp_path_factory.mktemp("secured-kafka"),
        sasl_ssl=SaslSsl(
            tls / "server.pem",
            tls / "server.key",
            {USER: PASSWORD} | ROLE_PASSWORDS,
            authorizer=True,
        ),
    )
    try:
        broker.start()
    except BrokerUnavailable as exc:
        if in_ci():
            pytest.fail(f"Apache Kafka is required under CI=true: {exc}")
        pytest.skip(f"Apache Kafka tier skipped: {exc}")
    grant(_superuser(broker), USER, ADMIN_GRANTS)
    registry = RegistryStandIn(
        basic_auth=f"{USER}:{REGISTRY_SECRET}", tls_dir=tmp_path_factory.mktemp("sr")
    ).start()
    try:
        yield SecuredCluster(broker, tls / "ca.pem", other / "ca.pem", registry)
    finally:
        registry.stop()
        broker.stop()


def _superuser(broker: ApacheKafka) -> KafkaSettings:
    """The broker's PLAINTEXT listener: User:ANONYMOUS, a super user."""
    return KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap)


def as_role(
    cluster: SecuredCluster, settings: KafkaSettings, role: str
) -> KafkaSettings:
    """The same deployment as SASL user `role`, granted the ACLs of that role."""
    grant(_superuser(cluster.broker), role, role_grants(settings)[role])
    return settings.model_copy(
        update={"sasl_username": role, "sasl_password": SecretStr(ROLE_PASSWORDS[role])}
    )


def secured_settings(cluster: SecuredCluster, **env: str) -> KafkaSettings:
    """Settings factory: a fresh namespace on the SASL_SSL listener, with the
    authenticated registry; `env` overrides (a wrong password, another CA)."""
    ns = f"s{uuid.uuid4().hex[:10]}"
    base = {
        "KAFKA_BOOTSTRAP_SERVERS": str(cluster.broker.sasl_bootstrap),
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CA_FILE": str(cluster.ca),
        "KAFKA_TOPIC_PREFIX": f"{ns}.",
        "KAFKA_GROUP_PREFIX": ns,
        "KAFKA_TOPIC_PARTITIONS": "4",
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "SCHEMA_REGISTRY_URL": cluster.registry.url,
        "SCHEMA_REGISTRY_BASIC_AUTH": f"{USER}:{REGISTRY_SECRET}",
        "SCHEMA_REGISTRY_CA_FILE": str(cluster.registry.ca_path),
    }
    return KafkaSettings(**(base | env))


@pytest.fixture
def admin(sandbox_org: Any) -> SandboxAdmin:
    return SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)


@dataclass
class Outputs:
    """Every CLI run's output, kept for the secrets scan."""

    tmp: Path
    runs: int = 0

    def cli(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            cli_argv(*args),
            env=os.environ | env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.runs += 1
        (self.tmp / f"cli-{self.runs}-{args[0]}.out").write_text(
            f"$ engage-sync {' '.join(args)}\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        return done


def _publish_calls(settings: KafkaSettings, people: list[str]) -> set[str]:
    """`CALLS` calls through the SASL_SSL listener, encoded via the registry, plus
    one undecodable record (a dead letter); returns the calls' event ids."""
    serde, topic = Serde.for_kafka(settings), Topics(settings).calls.name
    producer, ids = AckingProducer(settings), set()
    for i in range(CALLS):
        event = call_event(
            contact=contact_ref(
                engage_contact_id=f"sec-{i}", salesforce_id=people[i % len(people)]
            ),
            comments=f"secured call {i}",
        )
        ids.add(event["event_id"])
        producer.produce(topic, serde.encode("CallLogged", event), b"sec-%d" % i)
    producer.produce(topic, b"\xc3\x01not avro", b"garbage")
    producer.flush()
    return ids


def _engage_copy(settings: KafkaSettings) -> dict[str, dict[str, Any]]:
    serde = Serde.for_kafka(settings)
    with TopicReader.open(settings) as reader:
        values = latest_values(reader, Topics(settings).contacts.name)
    return {k.decode(): serde.decode("EngageContact", v) for k, v in values.items()}


def _secrets() -> list[Secret]:
    return [
        *(Secret(f"{r} password", pw.encode()) for r, pw in ROLE_PASSWORDS.items()),
        Secret("SASL password", PASSWORD.encode()),
        Secret("wrong SASL password", WRONG_PASSWORD.encode()),
        Secret("registry secret", REGISTRY_SECRET.encode()),
    ]


@pytest.mark.timeout(300)
def test_every_process_and_verb_works_through_sasl_ssl_and_an_authenticated_registry(
    secured: SecuredCluster,
    sandbox_org: Any,
    admin: SandboxAdmin,
    processes: Processes,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    settings = secured_settings(secured)
    env = {
        role: kafka_env(as_role(secured, settings, role)) | salesforce_env(sandbox_org)
        for role in ROLES
    }
    out = Outputs(tmp_path)
    made = out.cli(env["topics"], "topics")
    assert made.returncode == 0, made.stderr
    assert made.stdout.count(settings.topic_prefix) == len(Topics(settings).all())
    applied = out.cli(
        env["settings"], "settings", "apply", "--skip-describe", _yaml(tmp_path)
    )
    assert applied.returncode == 0, applied.stderr
    admin.put_records("Contact", [{"LastName": f"Sec{i}"} for i in range(4)])
    people = [r["Id"] for r in admin.records("Contact")]

    # ACLs are enforced: the dlq role sees its topic, not the calls.
    visible = clients.admin(as_role(secured, settings, "dlq")).list_topics(timeout=30)
    assert Topics(settings).dlq.name in visible.topics
    assert Topics(settings).calls.name not in visible.topics
    for role in ("worker", "writer", "poller"):
        processes.start(role, env[role])
    ids = _publish_calls(settings, people)
    wait_until(
        lambda: {t.get("Engage_Activity_Id__c") for t in admin.records("Task")} >= ids,
        120,
        what=f"{CALLS} Tasks written through SASL_SSL",
    )
    lead = admin.put_records(
        "Lead", [{"LastName": "Secure", "Company": "S", "Title": "Sales Lead"}]
    )["ids"][0]
    wait_until(
        lambda: lead in {c["salesforce_id"] for c in _engage_copy(settings).values()},
        90,
        what="the polled Lead in Engage's copy",
    )
    pipeline_seconds = time.monotonic() - started
    shown = out.cli(env["contacts"], "contacts", "show", lead)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["salesforce_id"] == lead

    lag = out.cli(env["lag"], "lag", "--json")
    assert lag.returncode == 0, lag.stderr
    groups = {g["group"] for g in json.loads(lag.stdout)["groups"]}
    assert {settings.group("worker"), settings.group("writer")} <= groups
    dlq = wait_until(
        lambda: _dlq_total(out.cli(env["dlq"], "dlq", "list", "--json")),
        60,
        what="the undecodable call as a dead letter",
    )
    assert dlq == 1
    replay = out.cli(
        env["replay"],
        *("replay", "--topic", "engage.dialer.calls", "--since", "-1h", "--dry-run"),
    )
    assert replay.returncode == 0, replay.stderr
    assert f"{CALLS + 1} record(s)" in replay.stdout
    assert "dry run: nothing processed" in replay.stdout

    exit_codes = {p.name: processes.stop(p) for p in list(processes.running)}
    logs = sorted(tmp_path.glob("*.log")) + sorted(tmp_path.glob("cli-*.out"))
    hits = scan(list(file_blobs(logs)) + list(topic_blobs(settings)), _secrets())
    print(
        f"\nSASL_SSL: {CALLS} Tasks + 1 polled Lead in {pipeline_seconds:.1f} s; "
        f"{len(logs)} logs/outputs scanned, {len(hits)} secret hit(s)"
    )
    assert not hits, hits
    assert set(exit_codes.values()) == {0}, exit_codes
    assert secured.registry.requests and all(
        r.status != 401 for r in secured.registry.requests
    )


def _yaml(tmp_path: Path) -> str:
    path = tmp_path / "settings.yaml"
    path.write_text(SETTINGS_YAML)
    return str(path)


def _dlq_total(done: subprocess.CompletedProcess[str]) -> int | None:
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["total"]) or None


def _exit(proc: Proc, started: float, deadline: float) -> tuple[int, list[str], float]:
    """(exit code, non-empty output lines, seconds since `started`, an upper bound)
    of a process that must stop by itself before `deadline` (TimeoutExpired if not)."""
    code = proc.popen.wait(max(0.0, deadline - time.monotonic()))
    lines = [line for line in proc.output().splitlines() if line.strip()]
    return code, lines, time.monotonic() - started


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("override", "names"),
    [
        ({"KAFKA_SASL_PASSWORD": WRONG_PASSWORD}, "KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SSL_CA_FILE": "other"}, "KAFKA_SSL_CA_FILE"),
    ],
    ids=["wrong-password", "untrusted-certificate"],
)
def test_a_bad_credential_stops_each_process_with_one_line_naming_the_setting(
    secured: SecuredCluster,
    sandbox_org: Any,
    processes: Processes,
    tmp_path: Path,
    override: dict[str, str],
    names: str,
) -> None:
    if override.get("KAFKA_SSL_CA_FILE") == "other":
        override = {"KAFKA_SSL_CA_FILE": str(secured.other_ca)}
    settings = secured_settings(secured, **override)
    env = kafka_env(settings) | salesforce_env(sandbox_org)
    started = time.monotonic()
    procs = [processes.start(role, env) for role in ("worker", "writer", "poller")]

    deadline = started + START_FAILS_WITHIN
    results = {p.name: _exit(p, started, deadline) for p in procs}
    lag = Outputs(tmp_path).cli(env, "lag", "--json")

    for name, (code, lines, _) in results.items():
        assert code == 2, (name, lines)
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith("engage-sync: configuration error: "), lines
        assert names in lines[0].split(": check ")[1], lines
    lag_lines = lag.stderr.strip().splitlines()
    assert lag.returncode == 2 and len(lag_lines) == 1, lag.stderr
    assert names in lag_lines[0].split(": check ")[1] and lag.stdout == ""
    logs = sorted(tmp_path.glob("*.log")) + sorted(tmp_path.glob("cli-*.out"))
    slowest = max(seconds for _, _, seconds in results.values())
    print(f"\n{names}: worker, writer, poller all exited {slowest:.1f} s after start")
    assert len(logs) == 4
    assert scan(file_blobs(logs), _secrets()) == []
    # The scan can fail: the password in a log is found.
    planted = tmp_path / "planted.txt"
    planted.write_text(f"sasl.password={PASSWORD}\n")
    assert scan(file_blobs([planted]), _secrets()) == ["planted.txt: SASL password"]
