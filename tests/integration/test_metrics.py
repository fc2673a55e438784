"""Every service built on ``shared.service`` answers ``/metrics`` (Prometheus text format,
no token), and its counters move with the work."""

from __future__ import annotations

from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.console.config import ConsoleSettings
from services.console.main import create_app as console_app
from services.intake.main import create_app as intake_app
from services.kpi.main import create_app as kpi_app
from services.status.main import create_app as status_app
from shared.auth.principal import Role
from shared.envelope_codec import to_record
from tests.auth import bearer, token
from tests.events import accepted
from tests.service_app import running_app
from tests.waiting import eventually

EXAMPLE = Path(__file__).parents[2] / "examples" / "backfill-example.csv"
READER = bearer(
    token(Role.district_officer, "reader-1001", district_code="1001", grants=("pii_reader",))
)

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

        # A clear read of the complainant, and an import's rows filed.
        assert value(after, "damrong_pii_clear_reads_total", kind="identity") == 0
        shown = await intake.client.get(f"/v1/complaints/{complaint}/complainant", headers=READER)
        assert shown.status_code == 200, shown.text
        imported = await intake.client.post(
            "/v1/imports", files={"file": ("register.csv", EXAMPLE.read_bytes())}
        )
        assert imported.status_code == 202, imported.text
        job = await eventually(
            lambda: intake.client.get(imported.headers["location"]),
            lambda r: r.json()["status"] == "done",
        )
        text = await scrape(intake.client)
        assert value(text, "damrong_pii_clear_reads_total", kind="identity") == 1
        assert value(text, "damrong_pii_clear_reads_total", kind="contact") == 0
        filed_rows = job.json()["result"]["filed"]
        assert filed_rows > 0
        assert value(text, "damrong_import_rows_filed_total") == filed_rows
        assert value(text, "damrong_imports_running", service="intake") == 0

        # Intake reads the case events too (its public view): per partition, what it
        # applied, where it stands and that it has caught up.
        async def caught_up() -> str:
            return await scrape(intake.client)

        text = await eventually(
            caught_up,
            lambda t: (
                value(t, "damrong_consumer_events_applied_total", service="intake")
                >= 1 + filed_rows
                and value(t, "damrong_consumer_lag", service="intake") == 0
            ),
        )
        positions = [
            labels
            for (name, labels), _v in samples(text).items()
            if name == "damrong_consumer_position"
        ]
        assert positions and all(dict(p)["partition"].isdigit() for p in positions)


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
        for reason in ("forged", "undecodable", "refused"):
            assert value(text, "damrong_consumer_dead_lettered_total", reason=reason) == 0

        # A record that is no event and one nobody signed: each dead-lettered by reason.
        producer = AIOKafkaProducer(bootstrap_servers=status.settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(status.settings.events_topic, b"not an event")
            key, headers, body = to_record(accepted("nobody signed this"))
            await producer.send_and_wait(
                status.settings.events_topic, body, key=key, headers=headers
            )
        finally:
            await producer.stop()

        async def dead() -> str:
            return await scrape(status.client)

        text = await eventually(
            dead, lambda t: value(t, "damrong_consumer_dead_lettered_total") >= 2
        )
        assert value(text, "damrong_consumer_dead_lettered_total", reason="undecodable") == 1
        assert value(text, "damrong_consumer_dead_lettered_total", reason="forged") == 1


async def test_kpi_tells_each_districts_days_since_its_last_record(
    infra: dict[str, str],
) -> None:
    async with (
        running_app(intake_app, infra) as intake,
        running_app(
            kpi_app,
            infra,
            events_topic=intake.settings.events_topic,
            dlq_topic=intake.settings.dlq_topic,
        ) as kpi,
    ):
        assert (await intake.client.post("/v1/complaints", json=BODY)).status_code == 201

        async def scraped() -> str:
            return await scrape(kpi.client)

        text = await eventually(
            scraped,
            lambda t: any(
                name == "damrong_district_days_since_last_record" for (name, _labels) in samples(t)
            ),
        )
        # Recorded just now: 0 days, under its province.
        assert (
            value(text, "damrong_district_days_since_last_record", province="10", district="1001")
            == 0
        )
        # Every other district of the province is silent since its first record (today);
        # a province that never recorded has no series.
        series = [
            labels
            for (name, labels) in samples(text)
            if name == "damrong_district_days_since_last_record"
        ]
        assert {dict(labels)["province"] for labels in series} == {"10"}
        assert len(series) == 50  # Bangkok's districts
        assert (
            value(text, "damrong_district_days_since_last_record", province="10", district="1050")
            == 0
        )
        assert value(text, "damrong_http_requests_total", service="kpi", route="/metrics") >= 1


async def test_the_console_counts_its_pages_by_route() -> None:
    settings = ConsoleSettings(console_session_key=SecretStr(Fernet.generate_key().decode()))
    app = console_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        for _ in range(2):
            assert (await client.get("/healthz")).status_code == 200
        text = await scrape(client)
    assert value(text, "damrong_http_requests_total", service="console", route="/healthz") == 2
    assert value(text, "damrong_http_request_duration_seconds_count", route="/healthz") == 2
    assert "damrong_consumer" not in text  # no events in the console
