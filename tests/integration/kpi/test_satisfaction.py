"""The satisfaction report on a real PostgreSQL: the scenario's exact figures over HTTP
(as of a past day, as known at a past time, CSV), equal to the in-memory reference, and
confined to the caller's jurisdiction like every KPI report.

Events go in through kpi's consumer handlers (shuffled, batches and single events), as in
test_reports_http: no broker, the API on that database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.kpi.main import create_app
from shared.config import Settings
from tests.auth import TEST_SECRET, admin_headers, bearer, token
from tests.integration.kpi.test_reports_http import _feed
from tests.unit.kpi import test_satisfaction as sc

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(auth_jwt_secret=SecretStr(TEST_SECRET)))
    app.state.runtime.pool = pool  # no lifespan: no broker, no consumer
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin_headers()
    ) as c:
        yield c


async def _report(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await client.get("/v1/kpi/satisfaction", params={"fiscal_year": 2569, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize("seed", [1, 2])
async def test_exact_figures(pool: asyncpg.Pool, client: httpx.AsyncClient, seed: int) -> None:
    all_cases = sc.cases()
    await _feed(pool, [e for envs in all_cases.values() for e in envs], seed)

    body = await _report(client)
    assert {r["district_code"]: r for r in body["districts"]} == sc.EXPECTED
    assert body["total"] == sc.TOTAL
    ref = sc.reference(all_cases)
    assert body["districts"] == ref.districts and body["total"] == ref.total

    one = await _report(client, district_code="5001", as_of=sc.AS_OF.isoformat())
    assert one["districts"] == [sc.EXPECTED_AS_OF_5001] and one["as_of"] == "2025-11-30"
    one = await _report(client, district_code="5001", known_at=sc.KNOWN_AT.isoformat())
    assert one["districts"] == [sc.EXPECTED_KNOWN_5001]
    province = await _report(client, province_code="50")
    assert province["total"] == sc.TOTAL

    # FY 2568 holds e1's closure and its rating (given in FY 2569: the case's year counts).
    older = await _report(client, fiscal_year=2568)
    assert [(r["district_code"], r["closures"], r["score_1"]) for r in older["districts"]] == [
        ("5001", 1, 1)
    ]

    r = await client.get("/v1/kpi/satisfaction", params={"fiscal_year": 2569, "format": "csv"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["district_code"] for row in rows] == ["5001", "5002"]
    assert rows[0]["mean_score"] == "3.67" and rows[0]["score_5"] == "1"
    assert rows[1]["reopened_rate"] == "0.5"


async def test_empty_and_confined(pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    await _feed(pool, [e for envs in sc.cases().values() for e in envs], 3)
    none = await _report(client, fiscal_year=2570)
    assert none["districts"] == [] and none["total"]["closures"] == 0
    assert none["total"]["response_rate"] is None and none["total"]["mean_score"] is None

    officer = bearer(token("district_officer", "o-5002", district_code="5002"))
    r = await client.get("/v1/kpi/satisfaction", params={"fiscal_year": 2569}, headers=officer)
    assert r.status_code == 200
    assert [d["district_code"] for d in r.json()["districts"]] == ["5002"]
    r = await client.get(
        "/v1/kpi/satisfaction",
        params={"fiscal_year": 2569, "district_code": "5001"},
        headers=officer,
    )
    assert r.status_code == 403
    r = await client.get(
        "/v1/kpi/satisfaction", params={"fiscal_year": 2569}, headers={"Authorization": "x"}
    )
    assert r.status_code == 401
    bad_params: list[dict[str, str]] = [
        {},
        {"fiscal_year": "x"},
        {"fiscal_year": "2569", "district_code": "5'--"},
    ]
    for bad in bad_params:
        r = await client.get("/v1/kpi/satisfaction", params=bad)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
