"""docker-compose.yml and every manifest in deploy/k8s parse and pass schema validation,
offline: the schemas come from pinned packages or from tests/deploy/schemas/."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from kubernetes_validate.utils import SchemaNotFoundError

from tests.deploy import manifests as m

KUBERNETES_VERSION = "1.33"
OPERATOR_SCHEMAS = Path(__file__).parent / "schemas"
NOT_APPLIED = {"secrets.example.yaml"}  # created from a secret store, not by kustomize


@cache
def operator_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion group, kind) -> validator, from the hand-written operator schemas."""
    validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
    for path in OPERATOR_SCHEMAS.glob("*.yaml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind, schema in spec["kinds"].items():
            full = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$defs": spec["$defs"],
                **schema,
            }
            jsonschema.Draft202012Validator.check_schema(full)
            group = schema["properties"]["apiVersion"]["const"]
            validators[(group, kind)] = jsonschema.Draft202012Validator(full)
    return validators


def validate_manifest(body: dict[str, Any]) -> None:
    """Raise if ``body`` breaks its kind's schema, or if no schema knows its kind."""
    own = operator_validators().get((body["apiVersion"], body["kind"]))
    if own is not None:
        own.validate(body)
        return
    kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)


def test_compose_file_matches_the_compose_specification() -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(m.compose())]
    assert not errors


@pytest.mark.parametrize(
    "doc",
    [d for d in m.k8s_docs() if d.kind != "Kustomization"],
    ids=lambda d: f"{d.file}:{d.kind}/{d.name}",
)
def test_manifest_matches_its_schema(doc: m.Doc) -> None:
    try:
        validate_manifest(doc.body)
    except SchemaNotFoundError:
        pytest.fail(
            f"no schema for {doc.body['apiVersion']} {doc.kind}: add one to "
            f"{OPERATOR_SCHEMAS.name}/"
        )


@pytest.mark.parametrize(
    ("kind", "name", "path", "typo"),
    [
        ("Deployment", "kpi", ["spec", "template", "spec", "containers", 0], "livenesProbe"),
        ("Kafka", "damrong-kafka", ["spec", "kafka"], "listener"),
        ("Cluster", "damrong-pg", ["spec"], "instance"),
    ],
)
def test_a_misspelt_field_fails_validation(
    kind: str, name: str, path: list[Any], typo: str
) -> None:
    """The validators reject unknown fields (else a typo would pass as an ignored field)."""
    body = copy.deepcopy(m.one(kind, name))
    node = body
    for step in path:
        node = node[step]
    node[typo] = {}
    with pytest.raises(jsonschema.ValidationError):
        validate_manifest(body)


def test_kustomization_applies_every_manifest() -> None:
    (kustomization,) = [d.body for d in m.k8s_docs() if d.kind == "Kustomization"]
    files = {p.name for p in m.K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"} - NOT_APPLIED
    assert sorted(kustomization["resources"]) == sorted(files)
    assert all(
        d.body["metadata"].get("namespace") in (None, "damrong")
        for d in m.k8s_docs()
        if d.kind != "Kustomization"
    )
