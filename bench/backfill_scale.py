"""A backfill of N Leads from the sandbox (`engage-sync poll-history`): API calls
and records/s (issue 14, item 5). The sandbox's SQLite is seeded directly."""

from __future__ import annotations

import json
import re
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import headline, pipeline
from bench.apache import quick
from bench.latency import SETTINGS_FILE as SETTINGS
from connectors.salesforce.backfill import backfill_calls
from engage_sync.supervisor import cli_argv
from sandbox import ids
from sandbox.admin import SandboxAdmin
from sandbox.values import normalize_key


def seed_leads(org: Any, admin: SandboxAdmin, n: int) -> None:
    """n Leads matching the example rules, written straight into the org's store.

    One Lead goes through the admin API, so it has every field the org gives a
    Lead; the rest are copies of it with their own Id, name and email, inserted
    in one transaction (the API would take an hour for a million).
    """
    admin.put_records(
        "Lead",
        [
            {
                "FirstName": "Bulk",
                "LastName": "Lead",
                "Company": "Acme",
                "Title": "VP Sales",
                "Email": "bulk@example.org",
            }
        ],
    )
    store = org.store
    template = store.all("Lead")[0]
    indexed = store.indexed_fields.get("Lead", ())
    first = store.counter("id_seq") + 1
    store.set_counter("id_seq", first + n)  # later API inserts get fresh ids
    with store.transaction():
        conn = store._conn
        for start in range(0, n, 10_000):
            rows, keys = [], []
            for seq in range(first + start, first + min(n, start + 10_000)):
                rid = ids.make_id(ids.PREFIXES["Lead"], seq)
                record = template | {
                    "Id": rid,
                    "LastName": f"L{seq}",
                    "Email": f"lead{seq}@example.org",
                    "Name": f"Bulk L{seq}",
                }
                rows.append(
                    (
                        rid,
                        "Lead",
                        0,
                        record["SystemModstamp"],
                        None,
                        json.dumps(record, separators=(",", ":")),
                    )
                )
                keys += [
                    ("Lead", f, normalize_key(record[f]), rid)
                    for f in indexed
                    if record.get(f) not in (None, "")
                ]
            conn.executemany(
                "INSERT INTO records(id, sobject, is_deleted, system_modstamp,"
                " deleted_date, data) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.executemany("INSERT OR IGNORE INTO lookup_keys VALUES (?,?,?,?)", keys)


def run(
    bootstrap: str, org: Any, admin: SandboxAdmin, logs: Path, n: int
) -> dict[str, Any]:
    """Seed n Leads (n + 1 with the template), apply the example settings, backfill."""
    seeded = time.monotonic()
    seed_leads(org, admin, n)
    seed_s = time.monotonic() - seeded
    ns = headline.namespace(bootstrap)
    # The sandbox reads, filters and sorts every Lead in Python before it answers a
    # query's first page (Salesforce streams it); at 1M on a loaded machine that is
    # past the client's default 60 s.
    env = pipeline.Pipeline(ns, org, logs).env | {"SALESFORCE_TIMEOUT_SECONDS": "900"}
    subprocess.run(
        [*cli_argv("settings", "apply", SETTINGS)],
        env=env,
        cwd=headline.REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    before, cpu = admin.api_calls(), _cpu()
    started = time.monotonic()
    out = subprocess.run(
        [*cli_argv("poll-history", "--object", "Lead")],
        env=env,
        cwd=headline.REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    elapsed = time.monotonic() - started
    used = admin.api_calls() - before
    sandbox_cpu, client_cpu = (b - a for a, b in zip(cpu, _cpu(), strict=True))
    found = re.search(r"published ([\d,]+) Lead record\(s\) with (\d+) API", out.stdout)
    if found is None:
        raise RuntimeError(
            f"poll-history said: {out.stdout[-500:]} {out.stderr[-500:]}"
        )
    published = int(found.group(1).replace(",", ""))
    return {
        "records": published,
        "seed_s": seed_s,
        "seconds": elapsed,
        "records_per_s": published / elapsed,
        "api_calls": used,
        "expected_calls": backfill_calls(published),
        "sandbox_cpu_s": sandbox_cpu,
        "client_cpu_s": client_cpu,
    }


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process (the sandbox) and of its ended children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def section(r: dict[str, Any]) -> list[str]:
    """The markdown of this part."""
    return [
        f"### Backfill of {r['records']:,} Leads from the sandbox "
        "(`engage-sync poll-history`, Apache Kafka)",
        "",
        "| figure | value | expected |",
        "|---|---|---|",
        f"| API calls (sandbox counter: describe, count, pages of 2,000) "
        f"| {r['api_calls']:,} | {r['expected_calls']:,} "
        "(`backfill_calls`) |",
        f"| records/s, command start to exit (start-up and the count included) "
        f"| {r['records_per_s']:,.0f} ({r['seconds']:.0f} s) | |",
        f"| CPU seconds: `poll-history` / the sandbox (both Python) "
        f"| {r['client_cpu_s']:.0f} s / {r['sandbox_cpu_s']:.0f} s | |",
        f"| seeding the sandbox's SQLite directly (bench side) | {r['seed_s']:.0f} s "
        "| |",
        "",
        "How measured: the Leads are written straight into the sandbox's SQLite "
        "(copies of one Lead made through its API), the example settings are "
        "applied, then `engage-sync poll-history --object Lead` runs to its end. "
        "API calls are the sandbox's own counter. The sandbox answers the count "
        "and the query by reading and filtering every Lead in Python, then pages "
        "out 2,000 at a time over HTTPS; the command turns each row into a "
        "`SalesforceRecord`, Avro-encodes and publishes it and saves its cursor "
        "per page. Its CPU seconds against the wall time say which side bounds "
        "the rate on this machine.",
        "",
    ]


def part(bootstrap: str, workdir: Path) -> list[str]:
    """1,000,000 Leads (quick: 100,000) on their own sandbox org."""
    from sandbox.org import SandboxOrg

    n = 100_000 if quick() else 1_000_000
    org = SandboxOrg(workdir / "backfill-org").start()
    try:
        print(f"backfill: {n:,} Leads from the sandbox …", flush=True)
        admin = SandboxAdmin(org.url, org.ca_path)
        return section(run(bootstrap, org, admin, workdir, n))
    finally:
        org.stop()
