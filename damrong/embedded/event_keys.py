"""The embedded platform's event signing keys: one per publishing service, generated once
per data dir and kept there (0600) beside the token secret.

`damrong up` gives each publishing service its own EVENT_SIGNING_KEY and every service
EVENT_PUBLIC_KEYS; `damrong audit` and `damrong kpi rebuild` read the public keys from the
same place.  An environment that sets EVENT_PUBLIC_KEYS configures the keys itself (then
nothing is generated or read here).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from damrong.embedded.secret_files import load_or_create
from shared.events import INTAKE_SOURCE, STATUS_SOURCE
from shared.signing import new_private_key, public_key_of

# The services that publish, and the CloudEvents source each publishes as.
PUBLISHERS = {"intake": INTAKE_SOURCE, "status": STATUS_SOURCE}


def key_path(data_dir: Path, service: str) -> Path:
    return data_dir / f"event-signing-key-{service}"


def private_keys(data_dir: Path) -> dict[str, str]:
    """Each publishing service's private key (created on first use)."""
    return {
        service: load_or_create(key_path(data_dir, service), new_private_key)
        for service in PUBLISHERS
    }


def public_keys_json(private: Mapping[str, str]) -> str:
    return json.dumps({PUBLISHERS[s]: public_key_of(k) for s, k in private.items()})


def service_event_env(service: str, env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """EVENT_SIGNING_KEY (publishers only) and EVENT_PUBLIC_KEYS for ``service``: the data
    dir's, unless ``env`` configures the keys itself.  Then one EVENT_SIGNING_KEY cannot
    serve both publishers, so ``<SERVICE>_EVENT_SIGNING_KEY`` (e.g. STATUS_EVENT_SIGNING_KEY)
    names each one's own."""
    if env.get("EVENT_PUBLIC_KEYS"):
        own = env.get(f"{service.upper()}_EVENT_SIGNING_KEY")
        return {"EVENT_SIGNING_KEY": own} if own and service in PUBLISHERS else {}
    private = private_keys(data_dir)
    out = {"EVENT_PUBLIC_KEYS": public_keys_json(private)}
    if service in private:
        out["EVENT_SIGNING_KEY"] = private[service]
    return out


def reader_settings(env: Mapping[str, str], data_dir: Path) -> dict[str, dict[str, str]]:
    """Settings overrides for a reader of the topic (audit, rebuild): the data dir's
    public keys when the environment sets none and the dir has them, else nothing (the
    settings then read EVENT_PUBLIC_KEYS, or say it is missing)."""
    if env.get("EVENT_PUBLIC_KEYS"):
        return {}
    if not all(key_path(data_dir, s).exists() for s in PUBLISHERS):
        return {}
    return {"event_public_keys": json.loads(public_keys_json(private_keys(data_dir)))}
