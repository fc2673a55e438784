"""Run one service's app in-process on a database and topics of its own, until healthy."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI

from shared.config import Settings
from tests.auth import TEST_SECRET, admin_headers
from tests.infra import isolation
from tests.pii import SETTINGS as PII_SETTINGS
from tests.signing import publisher_settings
from tests.waiting import eventually


@dataclass
class RunningApp:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings


@contextlib.asynccontextmanager
async def running_app(
    create_app: Callable[[Settings], FastAPI], infra: dict[str, str], **overrides: Any
) -> AsyncIterator[RunningApp]:
    """The app on a new database and new topics; both are dropped (the database) afterwards.

    Its tokens are checked with the tests' secret; the client sends an admin token unless
    a request sets its own ``Authorization`` (or removes it).  Events are signed and
    checked with the tests' keys (a publishing service gets its own source's key)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(infra["database_url"])
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        **{
            "database_url": f"{infra['database_url'].rsplit('/', 1)[0]}/{name}",
            "kafka_bootstrap_servers": infra["kafka_bootstrap"],
            **isolation(suffix),  # topics and groups; on Apache Kafka also idempotence
            "topic_partitions": 4,
            "auth_jwt_secret": TEST_SECRET,
            **PII_SETTINGS,
            # create_app of services.<name>.main: the service it builds.
            **publisher_settings(create_app.__module__.split(".")[1]),
            **overrides,
        }
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=admin_headers()
            ) as client:

                async def health() -> int:
                    return (await client.get("/healthz")).status_code

                await eventually(health, lambda code: code == 200, timeout=30)
                yield RunningApp(app, client, settings)
    finally:
        admin = await asyncpg.connect(infra["database_url"])
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
