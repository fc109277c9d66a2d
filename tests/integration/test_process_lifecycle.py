"""Each process starts only if its settings are right, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from ground.settings import KafkaSettings
from tests.conftest import Processes, kafka_env, salesforce_env
from tests.waiting import wait_until


def _exits(proc: Any, timeout: float = 60) -> int:
    return int(proc.popen.wait(timeout))


def test_worker_and_writer_stop_cleanly_on_sigterm_after_processing(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    from connectors.kafka.clients import AckingProducer
    from connectors.kafka.serde import Serde
    from connectors.kafka.topics import Topics
    from sandbox.admin import SandboxAdmin
    from tests.factories import call_event, contact_ref

    admin = SandboxAdmin(sandbox_org.url, sandbox_org.ca_path)
    who = admin.put_records("Contact", [{"LastName": "Lifecycle"}])["ids"][0]
    env = kafka_env(kafka_settings) | salesforce_env(sandbox_org)
    worker, writer = processes.start("worker", env), processes.start("writer", env)
    producer = AckingProducer(kafka_settings)
    producer.produce(
        Topics(kafka_settings).calls.name,
        Serde().encode(
            "CallLogged", call_event(contact=contact_ref(salesforce_id=who))
        ),
        b"ec-1",
    )
    producer.flush()

    def written() -> bool:
        for proc in (worker, writer):
            assert proc.popen.poll() is None, proc.output()[-2000:]
        return admin.stats()["records"].get("Task", 0) == 1

    wait_until(written, 120, what="the Task")
    for proc in (worker, writer):
        proc.popen.send_signal(signal.SIGTERM)
    assert _exits(worker) == 0, worker.output()[-2000:]
    assert _exits(writer) == 0, writer.output()[-2000:]


def test_sandbox_process_stops_cleanly_on_sigterm(
    tmp_path: Path, processes: Processes
) -> None:
    from connectors.kafka.embedded import free_port
    from sandbox.admin import SandboxAdmin

    port = free_port()
    proc = processes.start(
        "sandbox",
        {"SANDBOX_DATA_DIR": str(tmp_path / "org"), "SANDBOX_PORT": str(port)},
    )

    def answers() -> bool:
        assert proc.popen.poll() is None, proc.output()
        try:
            return bool(
                SandboxAdmin(
                    f"https://127.0.0.1:{port}", tmp_path / "org" / "ca.pem"
                ).stats()
            )
        except Exception:
            return False

    wait_until(answers, 60, what="the sandbox to answer")
    proc.popen.send_signal(signal.SIGTERM)
    assert _exits(proc) == 0


def test_writer_refuses_to_start_without_the_task_external_id_field(
    kafka_settings: KafkaSettings, tmp_path: Path, processes: Processes
) -> None:
    from sandbox.org import SandboxOrg

    with SandboxOrg(tmp_path / "bare-org", task_custom_fields=False) as org:
        proc = processes.start(
            "writer", kafka_env(kafka_settings) | salesforce_env(org)
        )
        assert _exits(proc) != 0
    last = proc.output().strip().splitlines()[-1]
    assert "Engage_Activity_Id__c" in last and "External ID" in last


def test_writer_with_a_wrong_key_stops_with_one_line_about_the_login(
    kafka_settings: KafkaSettings,
    sandbox_org: Any,
    tmp_path: Path,
    processes: Processes,
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {"SALESFORCE_PRIVATE_KEY_FILE": str(wrong)}
    )
    proc = processes.start("writer", env)
    assert _exits(proc) != 0
    lines = proc.output().strip().splitlines()
    assert "refused the jwt login" in lines[-1]
    assert (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
        .splitlines()[1]
        not in proc.output()
    )


def test_writer_with_a_bad_setting_stops_with_one_line_naming_the_variable(
    kafka_settings: KafkaSettings, sandbox_org: Any, processes: Processes
) -> None:
    env = (
        kafka_env(kafka_settings)
        | salesforce_env(sandbox_org)
        | {"SALESFORCE_API_VERSION": "v9"}
    )
    proc = processes.start("writer", env)
    assert _exits(proc) == 2
    assert proc.output().strip().splitlines() == [
        "engage-sync: configuration error: SALESFORCE_API_VERSION: "
        "must look like 59.0 (46.0 or newer: collections upsert)"
    ]
