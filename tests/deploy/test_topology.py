"""What the deployment promises, read from the files: Kafka's durability, the topics, scale
limits, probes, resources, non-root pods, disruption budgets and the connection budget."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.config import DLQ_TOPIC, EVENTS_TOPIC, Settings
from tests.deploy import manifests as m

SCALED = ("status", "kpi")  # consumers: replicas share the partitions
DEFAULTS = Settings.model_fields


def partitions() -> int:
    counts = {d.body["spec"]["partitions"] for d in m.k8s("KafkaTopic")}
    assert len(counts) == 1
    return counts.pop()


def port_of(service: str, env: dict[str, m.Source]) -> int:
    var = f"{service.upper()}_PORT"
    src = env.get(var)
    return int(src.value) if src and src.value else DEFAULTS[var.lower()].default


# --- Kafka -------------------------------------------------------------------------------


def test_strimzi_kafka_is_kraft_with_three_nodes_rf3_and_two_in_sync() -> None:
    (pool,) = [d.body for d in m.k8s("KafkaNodePool")]
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == "damrong-kafka"
    config = m.one("Kafka", "damrong-kafka")["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["auto.create.topics.enable"] is False


def test_kafka_topics_are_the_services_topics_with_infinite_event_retention() -> None:
    topics = {d.name: d.body["spec"] for d in m.k8s("KafkaTopic")}
    assert set(topics) == {EVENTS_TOPIC, DLQ_TOPIC}
    assert topics[EVENTS_TOPIC]["config"]["retention.ms"] == -1
    for spec in topics.values():
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2
    assert m.one("ConfigMap", "damrong-config")["data"]["TOPIC_PARTITIONS"] == str(partitions())
    assert m.one("ConfigMap", "damrong-config")["data"]["KAFKA_BOOTSTRAP_SERVERS"].startswith(
        "damrong-kafka-kafka-bootstrap:"
    )


def test_compose_kafka_is_three_kraft_brokers_rf3_and_two_in_sync() -> None:
    services = m.compose()["services"]
    brokers = {
        n: s["environment"]
        for n, s in services.items()
        if n.startswith("kafka-") and "KAFKA_NODE_ID" in s.get("environment", {})
    }
    assert len(brokers) == 3
    assert len({env["KAFKA_NODE_ID"] for env in brokers.values()}) == 3
    for name, env in brokers.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1].split(":")[0] for v in voters) == sorted(brokers)
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"


def test_compose_creates_the_topics_with_the_services_partition_count() -> None:
    init = m.compose()["services"]["kafka-topics"]
    script = init["command"][0]
    assert f"create {EVENTS_TOPIC} retention.ms=-1," in script
    assert f"create {DLQ_TOPIC} " in script
    assert "--replication-factor 3" in script and "min.insync.replicas=2" in script
    for service in m.SERVICES:
        env = m.compose_env(service)
        assert env["TOPIC_PARTITIONS"].value == init["environment"]["PARTITIONS"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"].value == init["environment"]["BOOTSTRAP"]


# --- scale --------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SCALED)
def test_autoscaler_stops_at_the_partition_count(service: str) -> None:
    hpa = m.one("HorizontalPodAutoscaler", service)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"] <= partitions()
    assert "replicas" not in m.one("Deployment", service)["spec"], "the HPA owns replicas"


def test_compose_runs_two_replicas_of_status_and_kpi_within_partitions() -> None:
    services = m.compose()["services"]
    for service in SCALED:
        assert 2 == services[service]["deploy"]["replicas"] <= partitions()


def max_replicas(service: str) -> int:
    hpa = m.k8s("HorizontalPodAutoscaler", service)
    if hpa:
        return int(hpa[0].body["spec"]["maxReplicas"])
    return int(m.one("Deployment", service)["spec"]["replicas"])


def pool_size(env: dict[str, m.Source]) -> int:
    src = env.get("DB_POOL_MAX")
    return int(src.value) if src and src.value else DEFAULTS["db_pool_max"].default


def test_database_connections_fit_max_connections_at_full_scale() -> None:
    # Headroom for the operator's own connections and a `damrong kpi rebuild`.
    headroom = 30
    cluster = m.one("Cluster", "damrong-pg")["spec"]
    k8s_peak = sum(max_replicas(s) * pool_size(m.k8s_env(s)) for s in m.SERVICES)
    assert k8s_peak + headroom <= int(cluster["postgresql"]["parameters"]["max_connections"])
    services = m.compose()["services"]
    compose_peak = sum(
        services[s].get("deploy", {}).get("replicas", 1) * pool_size(m.compose_env(s))
        for s in m.SERVICES
    )
    command = " ".join(services["postgres"]["command"])
    found = re.search(r"max_connections=(\d+)", command)
    assert found, command
    limit = int(found[1])
    assert compose_peak + headroom <= limit


# --- pods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", m.SERVICES)
def test_deployment_runs_the_service_with_probes_on_healthz(service: str) -> None:
    c = m.container(service)
    assert c["command"] == ["python", "-m", f"services.{service}.main"]
    (port,) = c["ports"]
    assert port["containerPort"] == port_of(service, m.k8s_env(service))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}, probe
    svc = m.one("Service", service)["spec"]
    assert svc["ports"][0]["targetPort"] == port["name"]
    assert svc["ports"][0]["port"] == port["containerPort"]


@pytest.mark.parametrize("service", m.SERVICES)
def test_deployment_sets_resources(service: str) -> None:
    resources = m.container(service)["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert {"cpu", "memory"} <= set(resources["limits"])


@pytest.mark.parametrize("service", m.SERVICES)
def test_pods_run_as_the_images_non_root_user(service: str) -> None:
    text = m.DOCKERFILE.read_text(encoding="utf-8")
    uid = int(re.findall(r"^USER (\d+)", text, flags=re.MULTILINE)[-1])
    pod = m.one("Deployment", service)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid != 0
    assert pod["automountServiceAccountToken"] is False
    sc = m.container(service)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("service", m.SERVICES)
def test_disruption_budget_and_service_select_the_deployments_pods(service: str) -> None:
    deployment = m.one("Deployment", service)["spec"]
    labels: dict[str, Any] = deployment["template"]["metadata"]["labels"]
    assert deployment["selector"]["matchLabels"].items() <= labels.items()
    pdb = m.one("PodDisruptionBudget", service)["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] == 1
    assert m.one("Service", service)["spec"]["selector"].items() <= labels.items()
    # The Kafka listener admits the damrong pods only.
    (listener,) = m.one("Kafka", "damrong-kafka")["spec"]["kafka"]["listeners"]
    peers = listener["networkPolicyPeers"][0]["podSelector"]["matchLabels"]
    assert peers.items() <= labels.items()


# --- compose ------------------------------------------------------------------------------


def test_every_compose_service_has_a_health_check_or_runs_once() -> None:
    for name, service in m.compose()["services"].items():
        assert "healthcheck" in service or service.get("restart") == "no", name


@pytest.mark.parametrize("service", m.SERVICES)
def test_compose_service_waits_for_healthy_dependencies(service: str) -> None:
    s = m.compose()["services"][service]
    assert s["command"] == ["python", "-m", f"services.{service}.main"]
    assert s["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka-topics": {"condition": "service_completed_successfully"},
    }
    assert s["build"]["dockerfile"] == "deploy/Dockerfile"
    assert "ports" not in s, "published through the gateway (replicas share a port)"
    db = s["environment"]["DATABASE_URL"]
    assert db.startswith(f"postgresql://{service}:") and db.endswith(f"@postgres:5432/{service}")


@pytest.mark.parametrize("service", m.SERVICES)
def test_gateway_forwards_each_service_port_to_its_replicas(service: str) -> None:
    port = port_of(service, m.compose_env(service))
    conf = (m.ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(rf"listen {port};\s+location / {{\s+set \$upstream {service}:{port};", conf)
    assert f"{port}:{port}" in m.compose()["services"]["gateway"]["ports"]


# Every service with a database: notify's deployment is checked in test_notify_deploy.
OWNERS = (*m.SERVICES, "notify")


def test_postgres_init_creates_one_database_per_service() -> None:
    script = m.ROOT / "deploy" / "postgres" / "init-databases.sh"
    assert script.stat().st_mode & 0o111, "the postgres image sources non-executable scripts"
    assert f"for service in {' '.join(OWNERS)}; do" in script.read_text(encoding="utf-8")
    postgres = m.compose()["services"]["postgres"]
    assert (
        f"./deploy/postgres/{script.name}:/docker-entrypoint-initdb.d/10-databases.sh:ro"
        in postgres["volumes"]
    )
    for service in OWNERS:
        assert f"{service.upper()}_DB_PASSWORD" in postgres["environment"]
    databases = {d.body["spec"]["name"]: d.body["spec"]["owner"] for d in m.k8s("Database")}
    assert databases == {s: s for s in OWNERS}
    roles = m.one("Cluster", "damrong-pg")["spec"]["managed"]["roles"]
    assert {r["name"]: r["passwordSecret"]["name"] for r in roles} == {
        s: f"damrong-db-{s}" for s in OWNERS
    }
