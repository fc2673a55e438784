"""Where the local embedded platform's servers are, for commands run beside `damrong up`."""

from __future__ import annotations

from collections.abc import Mapping


def local_servers(env: Mapping[str, str]) -> dict[str, str]:
    """``database_url`` and ``kafka_bootstrap_servers`` of the embedded servers on the ports
    `damrong up` uses (DAMRONG_PG_PORT, DAMRONG_KAFKA_PORT), for each of DATABASE_URL and
    KAFKA_BOOTSTRAP_SERVERS that the environment leaves unset."""
    host = env.get("HOST") or "127.0.0.1"
    out: dict[str, str] = {}
    if not env.get("DATABASE_URL"):
        out["database_url"] = (
            f"postgresql://postgres@{host}:{env.get('DAMRONG_PG_PORT') or 5433}/damrong"
        )
    if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
        out["kafka_bootstrap_servers"] = f"{host}:{env.get('DAMRONG_KAFKA_PORT') or 9092}"
    return out
