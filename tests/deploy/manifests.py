"""The deployment files as data: docker-compose.yml, deploy/Dockerfile and deploy/k8s/.

Each service's environment is resolved to ``{VAR: Source}``: where the value comes from
(a literal, a compose ``${...}`` interpolation, a ConfigMap or a Secret), so the tests can
check names against the settings and secrets against where they may come from.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
K8S_DIR = ROOT / "deploy" / "k8s"
SERVICES = ("intake", "status", "kpi")

Origin = Literal["literal", "interpolated", "configmap", "secret", "image"]


@dataclass(frozen=True)
class Source:
    origin: Origin
    value: str | None = None  # the text, when the file holds it (literal, interpolated)


@dataclass(frozen=True)
class Doc:
    file: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@cache
def k8s_docs() -> tuple[Doc, ...]:
    return tuple(
        Doc(path.name, body)
        for path in sorted(K8S_DIR.glob("*.yaml"))
        for body in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if body
    )


def k8s(kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in k8s_docs() if d.kind == kind and (name is None or d.name == name)]


def one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = k8s(kind, name)
    return doc.body


@cache
def dockerfile_env() -> dict[str, str]:
    """``ENV`` of the image's final stage (``ENV A=1 B=2`` lines, continuations joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    final_stage = re.split(r"^FROM\s", text, flags=re.MULTILINE)[-1]
    env: dict[str, str] = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            for word in shlex.split(line[4:]):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def compose_env(service: str) -> dict[str, Source]:
    """The environment compose gives ``service``, with the image's ENV under it."""
    env: dict[str, Source] = {k: Source("image", v) for k, v in dockerfile_env().items()}
    for name, value in (compose()["services"][service].get("environment") or {}).items():
        text = str(value)
        env[name] = Source("interpolated" if "${" in text else "literal", text)
    return env


def _secret_keys(name: str) -> list[str]:
    secret = one("Secret", name)
    return [*secret.get("stringData", {}), *secret.get("data", {})]


def container(service: str) -> dict[str, Any]:
    (c,) = one("Deployment", service)["spec"]["template"]["spec"]["containers"]
    return c


def k8s_env(service: str) -> dict[str, Source]:
    """The environment of ``service``'s container: image ENV, envFrom, then env."""
    env: dict[str, Source] = {k: Source("image", v) for k, v in dockerfile_env().items()}
    c = container(service)
    for ref in c.get("envFrom", []):
        if "configMapRef" in ref:
            data = one("ConfigMap", ref["configMapRef"]["name"])["data"]
            env.update({k: Source("configmap", str(v)) for k, v in data.items()})
        else:
            env.update({k: Source("secret") for k in _secret_keys(ref["secretRef"]["name"])})
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = Source("literal", str(var["value"]))
        elif "configMapKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["configMapKeyRef"]
            value = one("ConfigMap", ref["name"])["data"][ref["key"]]
            env[var["name"]] = Source("configmap", value)
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["key"] in _secret_keys(ref["name"]), f"{service}: no key {ref}"
            env[var["name"]] = Source("secret")
    return env
