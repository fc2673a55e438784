"""notify's deployment: compose and Kubernetes give it only settings it reads (the shared
ones and its own), a database of its own, intake's address and its notifier token, none of
the personal-data or signing keys, and probe /healthz on 8005."""

from __future__ import annotations

from services.notify.config import NotifySettings
from shared.config import Settings
from tests.deploy import manifests as m

WITHHELD = {"PII_MASTER_KEY", "PII_HASH_KEY", "PII_RETIRED_MASTER_KEYS", "EVENT_SIGNING_KEY"}
READS = {name.upper() for name in (*Settings.model_fields, *NotifySettings.model_fields)}
NEEDS = {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "EVENT_PUBLIC_KEYS", "INTAKE_URL"}
SECRETS = {"NOTIFY_SERVICE_TOKEN", "NOTIFY_SMS_TOKEN", "LINE_CHANNEL_ACCESS_TOKEN"}
IMAGE = set(m.dockerfile_env())


def test_compose_gives_notify_what_it_reads_and_no_data_keys() -> None:
    env = m.compose_env("notify")
    names = set(env) - IMAGE
    assert names <= READS, sorted(names - READS)
    assert NEEDS | {"NOTIFY_SERVICE_TOKEN"} <= names
    assert not names & WITHHELD
    for name in SECRETS | {"DATABASE_URL", "FEEDBACK_LINK_SECRET"}:
        assert env[name].origin == "interpolated", name  # from .env, never written here
    service = m.compose()["services"]["notify"]
    assert service["command"] == ["python", "-m", "services.notify.main"]
    assert service["healthcheck"]["test"][-1] == "8005"
    assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/notify")
    assert "ports" not in service  # nothing reaches it from outside


def test_kubernetes_runs_notify_with_probes_and_no_data_keys() -> None:
    env = m.k8s_env("notify")
    names = set(env) - IMAGE
    assert names <= READS, sorted(names - READS)
    assert NEEDS | SECRETS | {"FEEDBACK_LINK_SECRET"} <= names
    assert not names & WITHHELD
    for name in SECRETS | {"DATABASE_URL", "FEEDBACK_LINK_SECRET"}:
        assert env[name].origin == "secret", name
    c = m.container("notify")
    assert c["command"] == ["python", "-m", "services.notify.main"]
    assert c["ports"] == [{"name": "http", "containerPort": 8005}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert m.one("Service", "notify")["spec"]["ports"][0]["port"] == 8005
    kustomization = (m.ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text("utf-8")
    assert "notify.yaml" in kustomization
