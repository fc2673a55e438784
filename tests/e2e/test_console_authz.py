"""Every console route × role, like the services' own matrix (tests/integration/test_authz.py).

Each GET route of the console is in ROUTES (a new route without a row fails the test), with
the operation its page needs and how to aim it at district B.  Every role gets the page when
the shared policy permits the operation and 403 when not; an officer of district A reaches
no page, export or PDF of district B: each such address answers 403 or 404, or (for the few
pages that only echo the address, such as the filed-complaint page) shows none of B's data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.routing import APIRoute
from pydantic import SecretStr

from damrong.embedded.platform import Platform
from services.console.config import ConsoleSettings
from services.console.links import make_link
from services.console.main import create_app
from shared.auth.policy import Operation, permits
from shared.auth.principal import Principal, Role
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

DISTRICT_A, DISTRICT_B = "5002", "9002"  # Chom Thong, Chiang Mai; Sathing Phra, Songkhla
OFFICER_A = Principal("officer-a", Role.district_officer, district_code=DISTRICT_A)
OFFICER_B = Principal("officer-b", Role.district_officer, district_code=DISTRICT_B)
ROLES = (
    OFFICER_A,
    Principal("province-a", Role.provincial_officer, province_code=DISTRICT_A[:2]),
    Principal("nation", Role.national_supervisor),
    Principal("audit", Role.auditor),
    Principal("root", Role.admin),
)
REFUSED = (403, 404)
KINDS = ("backlog", "stale", "overdue", "reopen_requests")


@dataclass(frozen=True)
class Row:
    """A console GET route: the page as any permitted role sees it (``own``), the operation
    it needs (None: any signed-in user), and its addresses aimed at district B, each
    "refused" (403/404) or "hidden" (answers, but shows none of B's data)."""

    own: str | None  # None: the route needs a resource; only its B addresses are tried
    operation: Operation | None
    at_b: tuple[tuple[str, str], ...] = ()


def routes(b: dict[str, str]) -> dict[str, Row]:
    """``b``: district B's resources (``case``: a case id, ``job``: an import job id)."""
    case, job = b["case"], b["job"]
    return {
        "/": Row("/", None),
        "/lang": Row(None, None),
        "/signin": Row(None, None),
        "/auth/link": Row(None, None),
        # Signing in with the identity provider: no page of anyone's data.
        "/auth/oidc/start": Row(None, None),
        "/auth/oidc/callback": Row(None, None),
        "/auth/oidc/signed-out": Row(None, None),
        # The complainant's feedback page: its link's token is the credential (status
        # checks it); no sign-in, and nothing of a district but the case's own number.
        "/feedback/{token}": Row(None, None),
        # Public tracking: the tracking number and the phone's last digits (or the secret)
        # are the credential, checked by intake; the form itself is open to all.
        "/track": Row(None, None),
        "/complaints/new": Row(
            "/complaints/new", Operation.file, ((f"/complaints/new?filed={case}", "hidden"),)
        ),
        # Code lists, the same for everyone: no district's data.
        "/complaints/new/districts": Row(
            "/complaints/new/districts?province_code=50", Operation.file
        ),
        "/complaints/new/subdistricts": Row(
            "/complaints/new/subdistricts?district_code=5001", Operation.file
        ),
        "/imports/new": Row("/imports/new", Operation.import_),
        "/imports/{job_id}": Row(None, Operation.import_, ((f"/imports/{job}", "refused"),)),
        "/imports/{job_id}/progress": Row(
            None, Operation.import_, ((f"/imports/{job}/progress", "refused"),)
        ),
        "/imports/{job_id}/rejected.csv": Row(
            None, Operation.import_, ((f"/imports/{job}/rejected.csv", "refused"),)
        ),
        "/worklists/{kind}": Row(
            "/worklists/backlog",
            Operation.list_cases,
            (
                *((f"/worklists/{k}?district={DISTRICT_B}", "refused") for k in KINDS),
                (f"/worklists/backlog?province={DISTRICT_B[:2]}", "refused"),
            ),
        ),
        "/worklists/{kind}.{fmt}": Row(
            "/worklists/backlog.csv",
            Operation.list_cases,
            tuple(
                (f"/worklists/{k}.{fmt}?district={DISTRICT_B}", "refused")
                for k in KINDS
                for fmt in ("csv", "xlsx")
            ),
        ),
        "/cases/{complaint_id}": Row(
            None,
            Operation.read_case,
            ((f"/cases/{case}", "refused"), (f"/cases/{case}?as_of=2030-01-01T00:00", "refused")),
        ),
        "/dashboard": Row("/dashboard", Operation.read_kpi, at_area("/dashboard")),
        "/dashboard/report.pdf": Row(
            "/dashboard/report.pdf", Operation.read_kpi, at_area("/dashboard/report.pdf")
        ),
        "/dashboard/{name}.{fmt}": Row(
            "/dashboard/monthly.csv",
            Operation.read_kpi,
            tuple(
                pair
                for name in ("summary", "monthly", "aging", "recording")
                for fmt in ("csv", "xlsx")
                for pair in at_area(f"/dashboard/{name}.{fmt}")
            ),
        ),
        "/compare": Row("/compare", Operation.read_kpi, at_area("/compare")),
        "/compare/districts.{fmt}": Row(
            "/compare/districts.csv",
            Operation.read_kpi,
            (*at_area("/compare/districts.csv"), *at_area("/compare/districts.xlsx")),
        ),
        "/provinces": Row("/provinces", Operation.read_kpi),
        "/provinces/{code}": Row(
            f"/provinces/{DISTRICT_A[:2]}",
            Operation.read_kpi,
            ((f"/provinces/{DISTRICT_B[:2]}", "refused"),),
        ),
        "/provinces/{code}/districts.{fmt}": Row(
            f"/provinces/{DISTRICT_A[:2]}/districts.csv",
            Operation.read_kpi,
            tuple(
                (f"/provinces/{DISTRICT_B[:2]}/districts.{fmt}", "refused")
                for fmt in ("csv", "xlsx")
            ),
        ),
    }


def at_area(path: str) -> tuple[tuple[str, str], ...]:
    """``path`` filtered to district B, and to B's province: both refused to A."""
    return (
        (f"{path}?district={DISTRICT_B}", "refused"),
        (f"{path}?province={DISTRICT_B[:2]}", "refused"),
    )


def console_get_routes() -> set[str]:
    settings = ConsoleSettings(console_session_key=SecretStr(Fernet.generate_key().decode()))
    app = create_app(settings)
    found: set[str] = set()

    def walk(items: Sequence[object]) -> None:
        for route in items:
            included = getattr(route, "original_router", None)
            if included is not None:
                walk(included.routes)
            elif isinstance(route, APIRoute) and "GET" in (route.methods or set()):
                found.add(route.path)

    walk(app.routes)
    return found - {"/healthz", "/metrics"}


async def sign_in(client: httpx.AsyncClient, platform: Platform, principal: Principal) -> None:
    link = make_link(
        principal,
        secret=str(platform.auth_secret),
        base_url=platform.url("console"),
        now=dt.datetime.now(dt.UTC),
    )
    answer = await client.get(link)
    assert answer.status_code == 303 and "damrong_session" in answer.cookies, answer.text


def console_client(platform: Platform) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=platform.url("console"), timeout=30)


@pytest.fixture(scope="module")
async def district_b(platform: Platform) -> AsyncIterator[dict[str, str]]:
    """A case and a staged import job of district B, and B's unique subject marker."""
    marker = f"B-only-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(timeout=30) as client:
        filed = await client.post(
            platform.url("intake") + "/v1/complaints",
            json={
                "channel": "walk_in",
                "district_code": DISTRICT_B,
                "category": "other",
                "subject": marker,
                "description": marker,
                "complainant": {"anonymous": True},
            },
            headers={**platform.auth_headers(OFFICER_B), "Idempotency-Key": marker},
        )
        assert filed.status_code in (200, 201), filed.text
        case = filed.json()["complaint_id"]
        register = (
            "เลขที่หนังสือ,วันที่รับเรื่อง,ช่องทาง,อำเภอ,ประเภทเรื่อง,เรื่อง,ไม่ประสงค์ออกนาม\n"
            f",1/10/2568,หนังสือ,{DISTRICT_B},ที่ดิน,{marker},ใช่\n"
            f",1/10/2568,นกพิราบ,{DISTRICT_B},ที่ดิน,{marker} bad,ใช่\n"
        ).encode("utf-8-sig")
        staged = await client.post(
            platform.url("intake") + "/v1/imports/jobs",
            files={"file": ("b.csv", register, "text/csv")},
            headers=platform.auth_headers(OFFICER_B),
        )
        assert staged.status_code in (200, 201, 202), staged.text
        job = staged.json()["job_id"]

        async def in_status() -> bool:
            answer = await client.get(
                f"{platform.url('status')}/v1/complaints/{case}",
                headers=platform.auth_headers(),
            )
            return answer.status_code == 200

        await eventually(in_status, timeout=60)
    yield {"case": case, "job": job, "marker": marker}


async def test_every_console_route_is_in_the_matrix(district_b: dict[str, str]) -> None:
    assert console_get_routes() == set(routes(district_b))


@pytest.mark.parametrize("principal", ROLES, ids=[p.role.value for p in ROLES])
async def test_each_role_gets_exactly_the_pages_its_role_permits(
    platform: Platform, district_b: dict[str, str], principal: Principal
) -> None:
    async with console_client(platform) as client:
        await sign_in(client, platform, principal)
        for path, row in routes(district_b).items():
            if row.own is None:
                continue
            answer = await client.get(row.own)
            allowed = row.operation is None or permits(principal, row.operation)
            expected = 200 if allowed else 403
            assert answer.status_code == expected, (path, principal.role, answer.status_code)


async def test_an_officer_of_district_a_reaches_nothing_of_district_b(
    platform: Platform, district_b: dict[str, str]
) -> None:
    tried = 0
    async with console_client(platform) as client:
        await sign_in(client, platform, OFFICER_A)
        for path, row in routes(district_b).items():
            for address, kind in row.at_b:
                answer = await client.get(address)
                tried += 1
                assert district_b["marker"] not in answer.text, (path, address)
                if kind == "refused":
                    assert answer.status_code in REFUSED, (path, address, answer.status_code)
                else:
                    assert answer.status_code in (200, *REFUSED), (path, address)
    # The same addresses do answer district B's own officer: the refusals are about A.
    async with console_client(platform) as client_b:
        await sign_in(client_b, platform, OFFICER_B)
        for row in routes(district_b).values():
            for address, kind in row.at_b:
                if kind == "refused":
                    answer = await client_b.get(address)
                    assert answer.status_code == 200, (address, answer.status_code)
    assert tried >= 4
