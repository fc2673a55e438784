"""The benchmark baseline: a bare FastAPI endpoint doing one asyncpg INSERT per request.

Run by bench/intake.py with the same uvicorn settings as the services
(`python bench/baseline_app.py PORT DATABASE_URL`).
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import uvicorn
from fastapi import FastAPI, Request


def create_app(dsn: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
        assert pool is not None
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, body jsonb NOT NULL)"
        )
        app.state.pool = pool
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/complaints", status_code=201)
    async def file(request: Request) -> dict[str, Any]:
        body = await request.body()
        orjson.loads(body)  # the baseline parses JSON too
        cid = uuid.uuid4()
        await request.app.state.pool.execute(
            "INSERT INTO bench_baseline (id, body) VALUES ($1, $2::jsonb)", cid, body.decode()
        )
        return {"complaint_id": str(cid), "status": "filed"}

    return app


if __name__ == "__main__":
    port, dsn = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        create_app(dsn),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
