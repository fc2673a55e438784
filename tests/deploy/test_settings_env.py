"""The services' environments in docker-compose.yml and deploy/k8s against shared/config.py.

The settings are read from ``Settings.model_fields`` at test time, so a setting added
later is held to the same rules without editing this file:
- every variable set for a service names a setting (a typo would be silently ignored);
- every setting without a safe production default is provided: those whose default is
  None or empty (key material), and those whose default points at this machine (the
  embedded servers), less a short list of truly optional ones;
- secrets (SecretStr settings, and the database URL with its password) come from a
  Secret in Kubernetes and from ``.env`` interpolation in compose, never as text here.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.email.config import EmailSettings
from services.intake.line.config import LineSettings
from services.intake.open311.config import Open311Settings
from services.intake.tracking.config import TrackingSettings
from shared.config import Settings
from tests.deploy import manifests as m

FIELDS = Settings.model_fields
# Intake's channels have settings classes of their own (each optional: a channel left
# unset stays off): their variables are settings too, with their classes' prefixes.
CHANNEL_VARIABLES = {
    "intake": {
        (cls.model_config.get("env_prefix") or "") + name
        for cls in (EmailSettings, LineSettings, Open311Settings, TrackingSettings)
        for name in cls.model_fields
    }
}

# Optional in production although their default is empty, with the reason.
OPTIONAL = {
    "pii_retired_master_keys": "only after a PII master key rotation",
    "auth_api_keys": "channel systems may use bearer tokens instead",
    "import_chunk_rows": "unset is the import's own chunk (services/intake/backfill/usecases)",
}
# One of each group is enough (shared/auth: a shared secret or a public key).
ONE_OF = [frozenset({"auth_jwt_secret", "auth_public_key", "auth_public_key_file"})]
# Read by some services only: the others must not hold them (least privilege).
ONLY_FOR = {
    "pii_": ("intake",),
    "event_signing_key": ("intake", "status"),
    "feedback_link_secret": ("status", "notify"),
}
# Whatever the default, production runs with these values.
MUST_BE = {"kafka_enable_idempotence": True}
# Carry a password inside although typed str.
ALSO_SECRET = {"database_url"}

PLATFORMS = {"compose": m.compose_env, "k8s": m.k8s_env}
CASES = [(p, s) for p in PLATFORMS for s in m.SERVICES]


def env_name(field: str) -> str:
    return field.upper()  # no prefix, case-insensitive (Settings.model_config)


def field_of(var: str) -> str | None:
    return var.lower() if var.lower() in FIELDS else None


def default_of(field: str) -> Any:
    return FIELDS[field].get_default(call_default_factory=True)


def owners(field: str) -> tuple[str, ...] | None:
    return next((svcs for prefix, svcs in ONLY_FOR.items() if field.startswith(prefix)), None)


def may_hold(service: str, field: str) -> bool:
    svcs = owners(field)
    return svcs is None or service in svcs


def no_safe_default(field: str) -> bool:
    default = default_of(field)
    if isinstance(default, str) and ("127.0.0.1" in default or "localhost" in default):
        return True  # the embedded servers' address
    return default is None or default in ("", {}, [], ())


def is_secret(field: str) -> bool:
    return field in ALSO_SECRET or "SecretStr" in str(FIELDS[field].annotation)


def required_for(service: str) -> tuple[set[str], list[frozenset[str]]]:
    """(settings that must be set, groups of which one must be set) for ``service``."""
    grouped = set().union(*ONE_OF)
    needed = {
        f
        for f in FIELDS
        if no_safe_default(f) and f not in OPTIONAL and f not in grouped and may_hold(service, f)
    }
    return needed | set(MUST_BE), ONE_OF


def env_of(platform: str, service: str) -> dict[str, m.Source]:
    return PLATFORMS[platform](service)


def test_the_rule_finds_the_settings_production_cannot_default() -> None:
    """The derived rule catches what we know must be set (guards the rule itself)."""
    needed, groups = required_for("intake")
    assert {"database_url", "kafka_bootstrap_servers", "host", "kafka_enable_idempotence"} <= needed
    assert any("auth_jwt_secret" in g for g in groups)
    assert {f for f in FIELDS if f.startswith("pii_")} - set(OPTIONAL) <= needed
    assert not any(f.startswith("pii_") for f in required_for("kpi")[0])
    assert "event_signing_key" in required_for("status")[0] - required_for("kpi")[0]
    assert "event_public_keys" in required_for("kpi")[0]
    assert set(OPTIONAL) <= set(FIELDS), "an OPTIONAL entry names no setting"
    assert set(MUST_BE) | ALSO_SECRET <= set(FIELDS)


@pytest.mark.parametrize(("platform", "service"), CASES)
def test_every_variable_names_a_setting(platform: str, service: str) -> None:
    image_only = set(m.dockerfile_env()) - {env_name(f) for f in FIELDS}
    unknown = {
        v
        for v, src in env_of(platform, service).items()
        if field_of(v) is None
        and v.lower() not in {c.lower() for c in CHANNEL_VARIABLES.get(service, ())}
        and not (src.origin == "image" and v in image_only)
    }
    assert not unknown, f"{platform} {service}: not settings of shared/config.py: {unknown}"


@pytest.mark.parametrize(("platform", "service"), CASES)
def test_every_setting_without_a_safe_default_is_provided(platform: str, service: str) -> None:
    env = env_of(platform, service)
    have = {field_of(v) for v in env} - {None}
    needed, groups = required_for(service)
    missing = sorted(map(env_name, needed - have))
    assert not missing, f"{platform} {service}: missing {missing}"
    for group in groups:
        assert group & have, f"{platform} {service}: set one of {sorted(map(env_name, group))}"
    for field, loopback in (("host", "127.0.0.1"), ("database_url", "127.0.0.1")):
        assert loopback not in (env[env_name(field)].value or ""), f"{platform} {service}"


@pytest.mark.parametrize(("platform", "service"), CASES)
def test_settings_of_one_service_stay_with_it(platform: str, service: str) -> None:
    foreign = {
        v for v in env_of(platform, service) if (f := field_of(v)) and not may_hold(service, f)
    }
    assert not foreign, f"{platform} {service} must not get {foreign}"


@pytest.mark.parametrize(("platform", "service"), CASES)
def test_secrets_come_from_secret_stores(platform: str, service: str) -> None:
    for var, src in env_of(platform, service).items():
        field = field_of(var)
        if field is None or not is_secret(field):
            continue
        allowed = {"secret"} if platform == "k8s" else {"interpolated"}
        assert src.origin in allowed, f"{platform} {service}: {var} is {src.origin} text"


@pytest.mark.parametrize(("platform", "service"), CASES)
def test_values_written_out_parse_as_the_settings_and_production_values_hold(
    platform: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = {
        v: str(src.value)
        for v, src in env_of(platform, service).items()
        if field_of(v) and src.origin in ("literal", "configmap", "image")
    }
    for var, value in written.items():  # read as the service reads them (JSON and all)
        monkeypatch.setenv(var, value)
    settings = Settings()
    for field, expected in MUST_BE.items():
        assert getattr(settings, field) == expected, f"{platform} {service}: {env_name(field)}"
