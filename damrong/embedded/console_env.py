"""What the embedded platform tells the console: where the services are, the key of its
session cookies (generated once per data dir, kept 0600 beside the other secrets) and
where it keeps the ids of used sign-in links."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet

from damrong.embedded.secret_files import load_or_create

SESSION_KEY_FILE = "console-session-key"


def console_env(
    env: Mapping[str, str], data_dir: Path, urls: Mapping[str, str], public_url: str
) -> dict[str, str]:
    """CONSOLE_* and the services' URLs; the environment's values win where it sets them."""
    out = {
        "INTAKE_URL": urls["intake"],
        "STATUS_URL": urls["status"],
        "KPI_URL": urls["kpi"],
        "CONSOLE_PUBLIC_URL": public_url,
        "CONSOLE_STATE_DIR": str(data_dir / "console"),
    }
    out = {name: env.get(name) or value for name, value in out.items()}
    out["CONSOLE_SESSION_KEY"] = env.get("CONSOLE_SESSION_KEY") or load_or_create(
        data_dir / SESSION_KEY_FILE, lambda: Fernet.generate_key().decode()
    )
    return out
