"""Every service built on ``shared.service`` answers ``/metrics`` (Prometheus text format,
no token), and its counters move with the work."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.intake.main import create_app as intake_app
from services.status.main import create_app as status_app
from tests.service_app import running_app
from tests.waiting import eventually

BODY = {
    "channel": "walk_in",
    "district_code": "1001",
    "category": "land",
    "subject": "ทางเท้าชำรุด",
    "description": "ทางเท้าหน้าตลาดชำรุด",
    "complainant": {"anonymous": True},
}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    want = frozenset(labels.items())
    return sum(v for (n, got), v in samples(text).items() if n == name and want <= got)


async def scrape(client: httpx.AsyncClient) -> str:
    answer = await client.get("/metrics", headers={"Authorization": ""})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_intake_counts_requests_by_route_template_and_its_outbox(
    infra: dict[str, str],
) -> None:
    async with running_app(intake_app, infra) as intake:
        before = await scrape(intake.client)
        filed = await intake.client.post("/v1/complaints", json=BODY)
        assert filed.status_code == 201, filed.text
        complaint = filed.json()["complaint_id"]
        assert (await intake.client.get(f"/v1/complaints/{complaint}")).status_code == 200
        assert (await intake.client.get("/no/such/path")).status_code == 404

        async def published() -> str:
            return await scrape(intake.client)

        after = await eventually(
            published,
            lambda text: (
                value(text, "damrong_outbox_published_total", service="intake")
                > value(before, "damrong_outbox_published_total", service="intake")
                and value(text, "damrong_outbox_unpublished", service="intake") == 0
            ),
        )
        posts = {"route": "/v1/complaints", "method": "POST", "status": "201"}
        assert value(after, "damrong_http_requests_total", **posts) == 1
        reads = {"route": "/v1/complaints/{complaint_id}", "method": "GET", "status": "200"}
        assert value(after, "damrong_http_requests_total", **reads) == 1
        # Neither the id nor an unknown path becomes a label value.
        assert complaint not in after and "/no/such/path" not in after
        assert value(after, "damrong_http_requests_total", route="unmatched", status="404") == 1
        assert value(after, "damrong_http_request_duration_seconds_count", method="POST") >= 1
        assert value(after, "damrong_outbox_oldest_unpublished_seconds", service="intake") == 0


async def test_status_counts_the_events_its_consumer_applies(infra: dict[str, str]) -> None:
    async with (
        running_app(intake_app, infra) as intake,
        running_app(
            status_app,
            infra,
            events_topic=intake.settings.events_topic,
            dlq_topic=intake.settings.dlq_topic,
        ) as status,
    ):
        before = value(await scrape(status.client), "damrong_consumer_events_applied_total")
        for _ in range(3):
            assert (await intake.client.post("/v1/complaints", json=BODY)).status_code == 201

        async def applied() -> float:
            return value(await scrape(status.client), "damrong_consumer_events_applied_total")

        assert await eventually(applied, lambda n: n >= before + 3) == before + 3
        text = await scrape(status.client)
        assert value(text, "damrong_consumer_dead_lettered_total", service="status") == 0
