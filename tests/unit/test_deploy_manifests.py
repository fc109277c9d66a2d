"""Deploy files agree with the code: CLI commands, settings, probes, metrics, topics."""

from __future__ import annotations

import copy
import json
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from connectors.kafka.topics import Topics
from domain.crm_settings.document import parse_document
from engage_sync.cli import app
from ground import settings as settings_module
from ground.metrics import DEFAULT_PORTS
from ground.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE = REPO / "docker-compose.yml"
CONTRACT = DEPLOY / "metrics-contract.txt"
DASHBOARD = DEPLOY / "grafana" / "engage-sync.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
IMAGE = "engage-sync"
LONG_RUNNING = ("worker", "writer", "poller")
# Labels Prometheus adds at scrape time (kubernetes-scrape.yml adds pod).
TARGET_LABELS = {"job", "instance", "pod"}
SCRAPE_METRICS = {"up": set[str]()}
# PromQL's keywords; a word followed by "(" is a function and never a metric.
PROMQL_WORDS = set(
    "by without on ignoring group_left group_right and or unless bool offset inf nan"
    " atan2".split()
)
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"


# --- what the code knows ---------------------------------------------------------


def setting_aliases() -> set[str]:
    """Every environment variable a settings class reads, plus the secrets-dir one."""
    classes = [
        c
        for c in vars(settings_module).values()
        if isinstance(c, type) and issubclass(c, BaseSettings) and c is not BaseSettings
    ]
    fields = [f for c in classes for f in c.model_fields.values()]
    return {f.alias for f in fields if f.alias} | {settings_module.SECRETS_DIR_ENV}


def argv_problems(argv: list[str]) -> list[str]:
    """Why `engage-sync *argv` does not name a real command or option (none = fine)."""
    # Duck-typed: typer ships its own copy of click (typer._click).
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    problems = []
    for token in argv:
        if hasattr(command, "commands") and not token.startswith("-"):
            sub = command.commands.get(token)
            if sub is None:
                known = ", ".join(sorted(command.commands))
                return [
                    f"`engage-sync {' '.join([*path, token])}`: no such command "
                    f"(known: {known})"
                ]
            command, path = sub, [*path, token]
        elif token.startswith("-"):
            options = {"--help"} | {
                o
                for p in command.params
                if p.param_type_name == "option"
                for o in (*p.opts, *p.secondary_opts)
            }
            if token.split("=", 1)[0] not in options:
                problems.append(f"`engage-sync {' '.join(path)}`: no option {token}")
    if hasattr(command, "commands"):
        problems.append(f"`engage-sync {' '.join(path)}` is a group, not a command")
    return problems


def load_contract(path: Path = CONTRACT) -> dict[str, tuple[set[str], str]]:
    """deploy/metrics-contract.txt as {name: (labels, type)}."""
    contract = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            found = re.fullmatch(
                r"(\w+)(?:\{([\w,]*)\})?\s+(counter|gauge|histogram)", line.strip()
            )
            assert found, f"{path.name}: cannot read {line!r}"
            name, labels, kind = found.groups()
            contract[name] = ({x for x in (labels or "").split(",") if x}, kind)
    return contract


def known_series(contract: dict[str, tuple[set[str], str]]) -> dict[str, set[str]]:
    """Series names a query may use, with their labels (histograms expand)."""
    series = {n: labels | TARGET_LABELS for n, labels in SCRAPE_METRICS.items()}
    for name, (labels, kind) in contract.items():
        series[name] = labels | TARGET_LABELS
        if kind == "histogram":
            series |= {f"{name}_{s}": labels | TARGET_LABELS for s in ("sum", "count")}
            series[f"{name}_bucket"] = labels | TARGET_LABELS | {"le"}
    return series


def promql_problems(expr: str, contract: dict[str, tuple[set[str], str]]) -> list[str]:
    """Metrics and labels in a PromQL expression that the contract does not have."""
    series, problems = known_series(contract), []
    topics = Topics(KafkaSettings.model_construct(topic_prefix=""))
    named: set[str] = set()
    for name, matchers in re.findall(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}", expr):
        named.add(name)
        for label, op, value in re.findall(
            r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"', matchers
        ):
            if name in series and label not in series[name]:
                problems.append(f"{name} has no label {label!r}")
            if label == "topic" and op == "=":
                try:
                    topics.by_name(value)
                except KeyError:
                    problems.append(f"no topic {value!r} in connectors/kafka/topics.py")
    bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', " ", expr)
    grouping = re.findall(GROUPING, bare)
    bare = re.sub(GROUPING, " ", bare)
    for token in re.findall(r"(?<![\w.$])([A-Za-z_:][\w:]*)\b(?!\s*\()", bare):
        if token not in PROMQL_WORDS:
            named.add(token)
    for name in sorted(named - {""}):
        if name not in series:
            problems.append(f"metric {name} is not in {CONTRACT.name}")
    allowed = set().union(*(series.get(n, set()) for n in named)) | TARGET_LABELS
    for labels in grouping:
        for label in filter(None, (x.strip() for x in labels.split(","))):
            if label not in allowed:
                problems.append(f"grouping label {label!r} is on none of {named}")
    return problems


# --- the files -------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def k8s_docs() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if doc
    ]


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r}", target["expr"]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            query = (
                var["query"]["query"]
                if isinstance(var["query"], dict)
                else var["query"]
            )
            found = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert found, f"variable {var['name']}: use label_values(metric, label)"
            yield f"variable {var['name']}", f'{found[1]}{{{found[2]}=~".*"}}'


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(v) for k, v in env.items()}


# --- checkers: each returns the problems it found (empty = consistent) ------------


def compose_problems(doc: dict[str, Any]) -> list[str]:
    """Our compose services run real commands with real settings and health checks."""
    aliases, problems = setting_aliases(), []
    for name, service in doc["services"].items():
        if "build" not in service:
            continue  # not our image
        say = f"compose {name}:"
        if service.get("entrypoint") not in (None, ["engage-sync"]):
            problems.append(f"{say} our image's entrypoint is engage-sync")
        command = service.get("command") or []
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        problems += [f"{say} {p}" for p in argv_problems(argv)]
        env = env_of(service)
        problems += [f"{say} {k} is not a setting" for k in env if k not in aliases]
        for value in env.values():
            if value.startswith("/run/secrets/"):
                secret = value.removeprefix("/run/secrets/")
                if secret not in service.get("secrets", []) or secret not in doc.get(
                    "secrets", {}
                ):
                    problems.append(f"{say} {value} is not a secret of the service")
        if argv[:1] and argv[0] in LONG_RUNNING:
            port = env.get("METRICS_PORT")
            if port != str(DEFAULT_PORTS[argv[0]]):
                problems.append(
                    f"{say} METRICS_PORT {port} is not "
                    f"{argv[0]}'s {DEFAULT_PORTS[argv[0]]}"
                )
            test = service.get("healthcheck", {}).get("test", "")
            test = test if isinstance(test, str) else " ".join(test)
            on_port = 'os.environ["METRICS_PORT"]' in test or f":{port}/" in test
            if "/healthz" not in test or not on_port:
                problems.append(
                    f"{say} health check does not ask /healthz on METRICS_PORT"
                )
            after = (service.get("depends_on") or {}).get("init") or {}
            if after.get("condition") != "service_completed_successfully":
                problems.append(f"{say} does not wait for init to complete")
    init = doc["services"].get("init", {}).get("command")
    if init != ["topics"]:
        problems.append(f"compose init: command is {init}, not ['topics']")
    return problems


def k8s_problems(docs: list[dict[str, Any]]) -> list[str]:
    """Our containers run real commands, read real settings, probe /healthz."""
    problems = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]
        for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
            if c["image"].split(":")[0].rsplit("/", 1)[-1] != IMAGE:
                continue  # not our image
            say = f"{doc['kind']} {doc['metadata']['name']}/{c['name']}:"
            command = c.get("command") or []
            if command and command[:1] != ["engage-sync"]:
                problems.append(f"{say} command must start with engage-sync")
            argv = command[1:] + c.get("args", [])
            found = argv_problems(argv) + _env_problems(c, pod, docs)
            if not c.get("resources", {}).get("requests"):
                found.append("no resource requests")
            if doc["kind"] == "Deployment":
                found += _probe_problems(c, pod, argv)
            problems += [f"{say} {p}" for p in found]
    return problems


def _keys(docs: list[dict[str, Any]], kind: str, name: str) -> set[str] | None:
    """The keys of a ConfigMap or Secret in the manifests (None = there is none)."""
    for d in docs:
        if (d["kind"], d["metadata"]["name"]) == (kind, name):
            return {*(d.get("data") or {}), *(d.get("stringData") or {})}
    return None


def _env_problems(
    c: dict[str, Any], pod: dict[str, Any], docs: list[dict[str, Any]]
) -> list[str]:
    aliases = setting_aliases()
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    problems = [f"{k} is not a setting" for k in env if k not in aliases]
    for source in c.get("envFrom", []):
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if field in source:
                keys = _keys(docs, kind, source[field]["name"])
                if keys is None:
                    problems.append(f"no {kind} {source[field]['name']}")
                problems += [
                    f"{kind} key {k} is not a setting"
                    for k in sorted(keys or ())
                    if k not in aliases
                ]
    # Key files, the console's password hash and API token: mounted Secret keys.
    for name, path in env.items():
        if not name.endswith("_FILE") or not path:
            continue
        mount_dir, file_name = path.rsplit("/", 1)
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mounted = [
            volumes[m["name"]].get("secret", {}).get("secretName", "")
            for m in c.get("volumeMounts", [])
            if m["mountPath"] == mount_dir
        ]
        if not mounted or file_name not in (_keys(docs, "Secret", mounted[0]) or ()):
            problems.append(f"{path} is not a mounted secret key")
    return problems


def _probe_problems(
    c: dict[str, Any], pod: dict[str, Any], argv: list[str]
) -> list[str]:
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if argv[:1] == ["console"]:
        # Its /healthz is on the console's own port; it serves no /metrics.
        return _healthz_problems(c, env.get("CONSOLE_PORT"), "CONSOLE_PORT")
    port, problems = env.get("METRICS_PORT"), []
    if not argv or port != str(DEFAULT_PORTS.get(argv[0])):
        problems.append(f"METRICS_PORT {port} is not the default of {argv[:1]}")
    problems += _healthz_problems(c, port, "METRICS_PORT")
    notes = pod["metadata"].get("annotations", {})
    scrape = (
        notes.get("prometheus.io/scrape"),
        notes.get("prometheus.io/port"),
        notes.get("prometheus.io/path"),
    )
    if scrape != ("true", port, "/metrics"):
        problems.append(f"scrape annotations {scrape} do not match port {port}")
    return problems


def _healthz_problems(c: dict[str, Any], port: str | None, name: str) -> list[str]:
    problems = []
    named = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    for probe in ("livenessProbe", "readinessProbe"):
        get = c.get(probe, {}).get("httpGet", {})
        if (
            get.get("path") != "/healthz"
            or str(named.get(get.get("port"), get.get("port"))) != port
        ):
            problems.append(f"{probe} does not ask /healthz on {name} {port}")
    return problems


# --- the tests -------------------------------------------------------------------

DEPLOY_YAML = sorted([COMPOSE, *DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


@pytest.mark.parametrize("path", DEPLOY_YAML, ids=lambda p: str(p.relative_to(REPO)))
def test_every_deploy_yaml_file_parses(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs and all(isinstance(d, dict) for d in docs)


def test_settings_know_the_variables_deploy_relies_on() -> None:
    assert {"METRICS_PORT", "SALESFORCE_API_BUDGET_SHARE"} <= setting_aliases()


def test_compose_services_run_real_commands_with_real_settings() -> None:
    assert compose_problems(compose()) == []
    assert {s.get("command", [""])[0] for s in compose()["services"].values()} >= {
        *LONG_RUNNING,
        "topics",
    }


def test_compose_topics_come_only_from_the_init_service() -> None:
    services = compose()["services"]
    brokers = [
        s for s in services.values() if s.get("image", "").startswith("apache/kafka:")
    ]
    assert len(brokers) == 1
    assert brokers[0]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name, service in services.items():
        if "build" in service:
            replication = int(env_of(service)["KAFKA_REPLICATION_FACTOR"])
            assert replication <= len(brokers), name


def test_compose_monitoring_is_opt_in_and_mounts_files_that_exist() -> None:
    services = compose()["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert all(
        "profiles" not in s
        for n, s in services.items()
        if n not in ("prometheus", "grafana")
    )
    sources = [
        v.split(":", 1)[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if v.startswith("./")
    ]
    assert sources and all((REPO / src).exists() for src in sources), sources


def test_prometheus_scrapes_each_process_on_its_metrics_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    ports: dict[str, Any] = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            ports |= {name: sd["port"] for name in sd["names"]}
        for static in job.get("static_configs", []):
            ports |= dict(t.split(":") for t in static["targets"])
    services = compose()["services"]
    for process in LONG_RUNNING:
        assert str(ports[process]) == env_of(services[process])["METRICS_PORT"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_kubernetes_workloads_run_real_commands_with_real_settings() -> None:
    assert k8s_problems(k8s_docs()) == []


def test_the_worker_is_probed_on_healthz_for_readiness_and_liveness() -> None:
    # /healthz answers 503 for a crashed agent, a quiet consumer or a failed load
    # (streams/health.py): both probes must ask it, or nothing acts on the 503.
    worker = next(
        d for d in k8s_docs() if d["metadata"]["name"] == "engage-sync-worker"
    )
    container = worker["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz", probe
        assert ports.get(get["port"], get["port"]) == DEFAULT_PORTS["worker"], probe


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.template.yaml"}
    assert {
        d["metadata"].get("namespace", "engage-sync")
        for d in k8s_docs()
        if d["kind"] != "Namespace"
    } == {kustomization["namespace"]}


def test_kubernetes_replicas_fit_the_partitions() -> None:
    docs = k8s_docs()
    config = next(d for d in docs if d["metadata"]["name"] == "engage-sync-config")
    partitions = int(config["data"]["KAFKA_TOPIC_PARTITIONS"])
    deployments = {
        d["metadata"]["name"].removeprefix("engage-sync-"): d["spec"]
        for d in docs
        if d["kind"] == "Deployment"
    }
    assert set(deployments) == {*LONG_RUNNING, "console"}
    # One console: its sessions and login lock-out live in its memory.
    assert deployments["console"]["replicas"] == 1
    assert 1 <= deployments["writer"]["replicas"] <= partitions
    assert deployments["worker"]["replicas"] == 2 <= partitions
    # One poller: its cursors live on a one-partition topic it alone writes.
    assert deployments["poller"]["replicas"] == 1
    assert deployments["poller"]["strategy"] == {"type": "Recreate"}
    assert (
        Topics(KafkaSettings.model_construct(topic_prefix="")).poller_state.partitions
        == 1
    )


def test_kubernetes_crm_settings_are_a_valid_settings_document() -> None:
    docs = k8s_docs()
    crm = next(d for d in docs if d["metadata"]["name"] == "engage-sync-crm-settings")
    document = parse_document(crm["data"]["crm-settings.yaml"], "crm-settings.yaml")
    assert document.synced()


def test_no_deploy_file_declares_topics_itself() -> None:
    # Names, partitions and compaction live in connectors/kafka/topics.py only.
    for path in DEPLOY_YAML:
        text = path.read_text(encoding="utf-8")
        for token in (
            "kafka-topics",
            "cleanup.policy",
            "kind: KafkaTopic",
            "NUM_PARTITIONS",
            "num.partitions",
        ):
            assert token not in text, f"{path.name} declares topics ({token})"


def test_dockerfile_runs_the_cli_as_the_user_kubernetes_expects() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["engage-sync"]' in text
    uid = int(re.search(r"^USER (\d+)$", text, re.M)[1])  # type: ignore[index]
    pods = [
        d["spec"]["template"]["spec"]
        for d in k8s_docs()
        if d["kind"] in ("Deployment", "Job")
    ]
    assert {p["securityContext"]["runAsUser"] for p in pods} == {uid}


def test_metrics_contract_names_each_metric_once() -> None:
    lines = [
        x.split("{")[0].split()[0]
        for x in CONTRACT.read_text().splitlines()
        if x.strip() and not x.startswith("#")
    ]
    assert len(lines) == len(set(lines)) == len(load_contract()) == 20


def test_dashboard_uses_only_contract_metrics_and_shows_them_all() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    contract = load_contract()
    problems = [
        f"{where}: {p}"
        for where, expr in dashboard_queries(dashboard)
        for p in promql_problems(expr, contract)
    ]
    assert problems == []
    text = " ".join(expr for _, expr in dashboard_queries(dashboard))
    suffix = {"histogram": "(?:_bucket|_sum|_count)"}
    unseen = [
        m
        for m, (_, kind) in contract.items()
        if not re.search(rf"\b{m}{suffix.get(kind, '')}\b", text)
    ]
    assert unseen == []
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(
        p["datasource"]["uid"] == "${datasource}"
        for p in dashboard["panels"]
        if p["type"] != "row"
    )


def test_alerts_use_only_contract_metrics_and_cover_the_runbook() -> None:
    rules, contract = alert_rules(), load_contract()
    problems = [
        f"{r['alert']}: {p}"
        for r in rules
        for p in promql_problems(r["expr"], contract)
    ]
    assert problems == []
    assert all(
        r["labels"]["severity"] in ("warning", "critical")
        and r["annotations"]["summary"]
        and r.get("for")
        for r in rules
    )
    exprs = " ".join(r["expr"] for r in rules)
    for needed in (
        "deriv(kafka_consumergroup_lag_sum",
        "kafka_consumergroup_lag_sum)",
        "engage_sync_consumergroup_lag_seconds",
        "engage_sync_dead_letters",
        "engage_sync_salesforce_api_remaining",
        "engage_sync_budget_paused",
        "engage_sync_poll_cursor_age_seconds",
        "up{",
    ):
        assert needed in exprs, needed


# --- the checkers themselves catch typos -----------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def mutate(doc: Any) -> None:
        for step in path[:-1]:
            doc = doc[step]
        doc[path[-1]] = value

    return mutate


def _k8s(name: str, *path: Any, value: Any) -> Callable[[Any], None]:
    def mutate(docs: list[dict[str, Any]]) -> None:
        doc = next(d for d in docs if d["metadata"]["name"] == name)
        _set(list(path), value)(doc)

    return mutate


POD = ("spec", "template", "spec", "containers", 0)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set(["services", "worker", "command"], ["wroker"]), "no such command"),
        (
            _set(
                ["services", "worker", "environment", "KAFKA_BOOTSTRAP_SERVER"], "k:1"
            ),
            "KAFKA_BOOTSTRAP_SERVER is not a setting",
        ),
        (
            _set(["services", "writer", "environment", "METRICS_PORT"], "9109"),
            "METRICS_PORT 9109",
        ),
        (_set(["services", "poller", "depends_on"], {"kafka": {}}), "wait for init"),
    ],
    ids=["command", "env", "port", "init"],
)
def test_compose_checker_catches_a_typo(
    mutate: Callable[[Any], None], expected: str
) -> None:
    doc = copy.deepcopy(compose())
    mutate(doc)
    assert any(expected in p for p in compose_problems(doc)), compose_problems(doc)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            _k8s(
                "engage-sync-settings-apply", *POD, "args", value=["settings", "aply"]
            ),
            "no such command",
        ),
        (
            _k8s("engage-sync-topics", *POD, "args", value=["topics", "--al"]),
            "no option --al",
        ),
        (
            _k8s("engage-sync-config", "data", "WRITER_BATCH_SZE", value="9"),
            "WRITER_BATCH_SZE is not a setting",
        ),
        (
            _k8s(
                "engage-sync-writer",
                *POD,
                "readinessProbe",
                "httpGet",
                "port",
                value=9999,
            ),
            "readinessProbe",
        ),
        (
            _k8s(
                "engage-sync-poller",
                "spec",
                "template",
                "metadata",
                "annotations",
                "prometheus.io/port",
                value="9101",
            ),
            "scrape annotations",
        ),
        (
            _k8s("engage-sync-writer", *POD, "env", 1, "value", value="/etc/k.pem"),
            "not a mounted secret key",
        ),
        (
            _k8s(
                "engage-sync-console",
                *POD,
                "livenessProbe",
                "httpGet",
                "port",
                value=9102,
            ),
            "livenessProbe does not ask /healthz on CONSOLE_PORT",
        ),
        (
            _k8s("engage-sync-console", *POD, "env", 2, "value", value="/etc/hash"),
            "/etc/hash is not a mounted secret key",
        ),
    ],
    ids=[
        "command",
        "option",
        "configmap",
        "probe",
        "scrape",
        "key-file",
        "console-probe",
        "console-login-file",
    ],
)
def test_kubernetes_checker_catches_a_typo(
    mutate: Callable[[Any], None], expected: str
) -> None:
    docs = copy.deepcopy(k8s_docs())
    mutate(docs)
    assert any(expected in p for p in k8s_problems(docs)), k8s_problems(docs)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "sum(rate(engage_sync_dead_leters_total[5m]))",
            "engage_sync_dead_leters_total",
        ),
        ("sum by (proces) (rate(engage_sync_dead_letters_total[5m]))", "'proces'"),
        ('engage_sync_writer_retries_total{cod="x"}', "no label 'cod'"),
        ('kafka_consumergroup_lag_sum{topic="salesforce.comands"}', "no topic"),
        (
            "histogram_quantile(0.9, rate(engage_sync_writer_batch_secs_bucket[5m]))",
            "engage_sync_writer_batch_secs_bucket",
        ),
    ],
)
def test_promql_checker_catches_a_typo(expr: str, expected: str) -> None:
    assert any(expected in p for p in promql_problems(expr, load_contract()))


def test_promql_checker_accepts_what_the_contract_has() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le) (rate("
        "engage_sync_writer_batch_seconds_bucket[$__rate_interval]))) and on() "
        'kafka_consumergroup_lag_sum{topic="engage.dialer.calls"} > 1e3'
    )
    assert promql_problems(expr, load_contract()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["wroker"], "no such command"),
        (["settings"], "a group"),
        (["settings", "aply", "f.yaml"], "no such command"),
        (["poll-history", "--objcet", "Lead"], "no option --objcet"),
    ],
)
def test_argv_checker_catches_a_typo(argv: list[str], expected: str) -> None:
    assert any(expected in p for p in argv_problems(argv))


def test_argv_checker_accepts_real_commands_and_options() -> None:
    for argv in (
        ["worker"],
        ["settings", "apply", "f.yaml", "--skip-describe"],
        ["poll-history", "--object", "Lead", "--dry-run"],
        ["topics"],
    ):
        assert argv_problems(argv) == [], argv


def _console_docs() -> dict[str, dict[str, Any]]:
    return {
        d["kind"]: d
        for d in k8s_docs()
        if d["metadata"]["name"] == "engage-sync-console" and d["kind"] != "Secret"
    }


def test_the_kubernetes_console_is_reached_only_inside_the_cluster() -> None:
    docs = _console_docs()
    pod = docs["Deployment"]["spec"]["template"]
    labels = pod["metadata"]["labels"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    port = int(env["CONSOLE_PORT"])
    service, policy = docs["Service"], docs["NetworkPolicy"]
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert service["spec"]["selector"] == labels
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    (served,) = service["spec"]["ports"]
    assert named.get(served["targetPort"], served["targetPort"]) == port
    # Only the ingress controller's namespace may connect, and only to the console.
    assert policy["spec"]["podSelector"]["matchLabels"] == labels
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == [port]
    assert all("namespaceSelector" in f and "ipBlock" not in f for f in rule["from"])
    assert "hostNetwork" not in pod["spec"] and "hostPort" not in str(container)


def test_the_kubernetes_console_takes_its_login_and_token_from_a_secret() -> None:
    pod = _console_docs()["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    # Files of a mounted Secret (k8s_problems checks each is one of its keys).
    assert {"CONSOLE_PASSWORD_HASH_FILE", "CONSOLE_API_TOKEN_FILE"} <= set(env)
    assert not {"CONSOLE_PASSWORD_HASH", "CONSOLE_API_TOKEN"} & set(env)
    secrets = {
        v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v
    }
    assert "engage-sync-console" in secrets
    assert k8s_problems(k8s_docs()) == []


def test_the_compose_console_is_published_on_loopback_with_secret_files() -> None:
    doc = compose()
    console = doc["services"]["console"]
    env = env_of(console)
    assert console["command"] == ["console"]
    assert console["ports"] == [f"127.0.0.1:{env['CONSOLE_PORT']}:8088"]
    assert env["CONSOLE_PASSWORD_HASH_FILE"].startswith("/run/secrets/")
    assert env["CONSOLE_API_TOKEN_FILE"].startswith("/run/secrets/")
    assert "CONSOLE_PORT" in " ".join(console["healthcheck"]["test"])
    assert compose_problems(doc) == []
