"""The console's deployment: compose and Kubernetes give it exactly what it reads and none
of the data keys, probe /healthz on 8004, and publish it (gateway, Service)."""

from __future__ import annotations

from services.console.config import ConsoleSettings
from tests.deploy import manifests as m

WITHHELD = {
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "PII_MASTER_KEY",
    "PII_HASH_KEY",
    "EVENT_SIGNING_KEY",
    "EVENT_PUBLIC_KEYS",
}
READS = {name.upper() for name in ConsoleSettings.model_fields}
# The image's own ENV (PATH, PYTHON*) is the interpreter's, not a setting.
IMAGE = set(m.dockerfile_env())


def test_compose_gives_the_console_only_settings_it_reads_and_no_data_keys() -> None:
    env = set(m.compose_env("console")) - IMAGE
    assert env <= READS, sorted(env - READS)
    assert not env & WITHHELD
    service = m.compose()["services"]["console"]
    assert service["command"] == ["python", "-m", "services.console.main"]
    assert service["healthcheck"]["test"][-1] == "8004"
    gateway = m.compose()["services"]["gateway"]
    assert "8004:8004" in gateway["ports"]
    nginx = (m.ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "listen 8004;" in nginx and "console:8004" in nginx


def test_kubernetes_runs_the_console_with_probes_and_no_data_keys() -> None:
    env = set(m.k8s_env("console")) - IMAGE
    assert {"CONSOLE_SESSION_KEY", "INTAKE_URL", "STATUS_URL", "KPI_URL"} <= env
    assert env <= READS, sorted(env - READS)
    assert not env & WITHHELD
    c = m.container("console")
    assert c["ports"] == [{"name": "http", "containerPort": 8004}]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    service = m.one("Service", "console")
    assert service["spec"]["ports"][0]["port"] == 8004
    kustomization = (m.ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text("utf-8")
    assert "console.yaml" in kustomization
