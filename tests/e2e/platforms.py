"""Platforms for end-to-end tests, on the session's test backend.

Embedded (the default): ``Platform.for_tests``, every platform with its own embedded
PostgreSQL and broker.  Containers: every platform shares the session's Apache Kafka and
PostgreSQL, so it gets what keeps it apart there: a fresh database, topics and consumer
groups of its own, and idempotent producers as in production (``tests.infra.isolation``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path

from damrong.embedded.platform import Platform
from tests.infra import as_env, fresh_database, isolation


def shared_server_env(infra: Mapping[str, str], database_url: str, suffix: str) -> dict[str, str]:
    """The environment that points one platform at the shared servers, kept apart."""
    return {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infra["kafka_bootstrap"],
        **as_env(isolation(suffix, "containers")),
    }


@contextlib.asynccontextmanager
async def platform_for_tests(
    data_dir: Path,
    infra: Mapping[str, str] | None,
    *,
    services: bool | Iterable[str] = True,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Platform]:
    """A running platform; ``infra`` None means embedded servers of its own."""
    if infra is None:
        async with Platform.for_tests(data_dir, services=services, env=env) as p:
            yield p
        return
    async with fresh_database(infra["database_url"]) as url:
        shared = shared_server_env(infra, url, uuid.uuid4().hex[:8])
        async with Platform.for_tests(
            data_dir, services=services, env={**shared, **(env or {})}
        ) as p:
            yield p
