"""deploy/monitoring: promtool accepts the scrape configuration and the alert rules, and
the rules' own unit tests pass (each alert fires on what should raise it, not on what
should not); the Kubernetes PrometheusRule carries exactly those rules; every metric the
alerts and the Grafana dashboard ask for is one the services export; compose runs
Prometheus and Grafana and never publishes /metrics.

promtool comes with Debian's prometheus package, which deploy/system-packages.sh installs;
without it the promtool checks are skipped, saying so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import manifests as m

MONITORING = m.ROOT / "deploy" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "damrong.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is missing: install Debian's prometheus package (make test does, as root)",
)
# Where the services name their metric families.
EXPORTERS = (
    "shared/metrics.py",
    "services/intake/telemetry.py",
    "services/kpi/silence.py",
)
METRIC = re.compile(r"\bdamrong_[a-z_]+\b")
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def promtool(*args: str) -> str:
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, *args], cwd=MONITORING, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
def test_promtool_accepts_the_rules_and_the_scrape_configuration() -> None:
    assert "SUCCESS: 6 rules found" in promtool("check", "rules", "alerts.yml")
    assert "is valid prometheus config file syntax" in promtool("check", "config", "prometheus.yml")


@needs_promtool
def test_each_alert_fires_when_it_should_and_only_then() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")


@needs_promtool
def test_the_rule_tests_would_catch_a_changed_rule(tmp_path: Path) -> None:
    """The unit tests are not vacuous: a silent district alerting after 30 days instead
    of 14 fails them."""
    rules = (MONITORING / "alerts.yml").read_text(encoding="utf-8")
    assert "damrong_district_days_since_last_record) > 14" in rules
    (tmp_path / "alerts.yml").write_text(
        rules.replace("damrong_district_days_since_last_record) > 14", "X) > 30"), "utf-8"
    )
    shutil.copy(MONITORING / "alerts.test.yml", tmp_path)
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts.test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DamrongDistrictSilent" in done.stdout + done.stderr


def test_every_service_job_is_scraped_and_matched_by_the_down_alert() -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {c["job_name"]: c for c in config["scrape_configs"]}
    ports = {"intake": 8001, "status": 8002, "kpi": 8003, "console": 8004, "notify": 8005}
    assert set(jobs) == {f"damrong-{s}" for s in ports}
    for service, port in ports.items():
        (sd,) = jobs[f"damrong-{service}"]["dns_sd_configs"]
        assert sd == {"names": [service], "type": "A", "port": port}
    assert config["rule_files"] == ["alerts.yml"]


def test_the_kubernetes_rules_are_the_alert_rules() -> None:
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    assert m.one("PrometheusRule", "damrong")["spec"]["groups"] == alerts["groups"]
    monitor = m.one("PodMonitor", "damrong")["spec"]
    (endpoint,) = monitor["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    (names,) = monitor["selector"]["matchExpressions"]
    assert names["values"] == ["intake", "status", "kpi", "notify", "console"]


def _exported() -> set[str]:
    names: set[str] = set()
    for path in EXPORTERS:
        names |= set(METRIC.findall((m.ROOT / path).read_text(encoding="utf-8")))
    return names


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_alerts_and_dashboard_ask_only_for_exported_metrics() -> None:
    exported = _exported()
    assert "damrong_district_days_since_last_record" in exported  # the finder finds them
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    exprs = [r["expr"] for g in alerts["groups"] for r in g["rules"]]
    exprs += _dashboard_exprs(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    asked = {_family(n) for e in exprs for n in METRIC.findall(e)}
    assert asked, "no damrong metric asked for"
    assert asked <= exported, asked - exported


def test_the_dashboard_is_grafana_json_with_a_query_in_each_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "damrong" and dashboard["timezone"] == "Asia/Bangkok"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    titles = {p["title"] for p in dashboard["panels"]}
    assert "Districts silent for more than 14 days" in titles


def test_compose_runs_prometheus_and_grafana_and_keeps_metrics_inside() -> None:
    services = m.compose()["services"]
    prometheus, grafana = services["prometheus"], services["grafana"]
    for service in (prometheus, grafana):
        image = service["image"]
        assert re.fullmatch(r"[a-z/]+:v?\d+\.\d+\.\d+", image), image  # pinned
        assert all(p.startswith("127.0.0.1:") for p in service["ports"])  # loopback only
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (m.ROOT / source).exists(), source
    assert "${GRAFANA_ADMIN_PASSWORD:?" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    example = (m.ROOT / "deploy" / "compose.env.example").read_text(encoding="utf-8")
    assert "GRAFANA_ADMIN_PASSWORD=" in example
    # The gateway publishes intake, status, kpi and the console, but not their /metrics.
    nginx = (m.ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    servers = nginx.split("server {")[1:]
    for port in (8001, 8002, 8003, 8004):
        (server,) = [s for s in servers if f"listen {port};" in s]
        assert re.search(r"location = /metrics \{\s*return 404;", server), port
