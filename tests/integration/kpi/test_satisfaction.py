"""The satisfaction report on a real PostgreSQL: the scenario's exact figures over HTTP
(as of a past day, as known at a past time, CSV), equal to the in-memory reference, and
confined to the caller's jurisdiction like every KPI report.

Events go in through kpi's consumer handlers (shuffled, batches and single events), as in
test_reports_http: no broker, the API on that database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from services.kpi.main import create_app
from services.kpi.main import create_app as kpi_app
from services.status.main import create_app as status_app
from shared import feedback_links
from shared.chain import GENESIS, seal
from shared.config import Settings
from shared.events import Envelope
from shared.kafka import make_producer
from tests.auth import TEST_SECRET, admin_headers, bearer, token
from tests.integration.kpi.test_reports_http import _feed
from tests.service_app import running_app
from tests.signing import signed_record
from tests.unit.kpi import test_satisfaction as sc
from tests.unit.status.factories import T0, filed
from tests.waiting import eventually

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


async def test_feedback_reaches_kpi_through_the_broker(infra: dict[str, str]) -> None:
    """status and kpi in-process on one topic: a closure rated and disputed through the
    public feedback endpoint is published (signed by status), consumed by kpi and counted."""
    secret = "feedback-secret-" + "k" * 40
    district = "9711"
    async with (
        running_app(status_app, infra, feedback_link_secret=SecretStr(secret)) as status,
        running_app(
            kpi_app,
            infra,
            events_topic=status.settings.events_topic,
            dlq_topic=status.settings.dlq_topic,
        ) as kpi,
    ):
        producer = make_producer(status.settings)
        await producer.start()
        try:
            env = filed(at=T0)
            data = env.data.model_copy(
                update={"district_code": district, "province_code": district[:2]}
            )
            env = seal(
                Envelope(**{**env.model_dump(exclude={"data", "hash"}), "data": data}), GENESIS
            )
            key, headers, value = signed_record(env)
            await producer.send_and_wait(
                status.settings.events_topic, value, key=key, headers=headers
            )
        finally:
            await producer.stop()

        async def opened() -> int:
            return (await status.client.get(f"/v1/complaints/{env.complaint_id}")).status_code

        await eventually(opened, lambda code: code == 200)
        for move in ({"action": "accept"}, {"action": "close", "reason": "resolved"}):
            r = await status.client.post(
                f"/v1/complaints/{env.complaint_id}/transitions", json=move
            )
            assert r.status_code == 200, r.text
        link = feedback_links.issue(env.complaint_id, 3, secret, dt.datetime.now(dt.UTC))
        r = await status.client.post(
            "/v1/feedback", json={"token": link, "score": 1, "not_solved": True}
        )
        assert r.status_code == 201, r.text

        async def counted() -> dict[str, Any]:
            r = await kpi.client.get(
                "/v1/kpi/satisfaction", params={"fiscal_year": 2569, "district_code": district}
            )
            return dict(r.json()) if r.status_code == 200 else {}

        body = await eventually(
            counted, lambda b: bool(b.get("districts")) and b["districts"][0]["rated"] == 1
        )
        row = body["districts"][0]
        assert (row["closures"], row["score_1"], row["disputed"], row["reopened"]) == (1, 1, 1, 0)
        assert (row["mean_score"], row["disputed_rate"]) == (1.0, 1.0)
