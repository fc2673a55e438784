"""Who may do what: every route of every service x every role x in / out of jurisdiction.

The routes are read from the apps themselves, so a new route without a row in ``MATRIX``
fails ``test_every_route_is_in_the_matrix``, and every route is checked to answer 401
without (or with a bad) credential.  The three services run in-process on one topic, so
complaints filed at intake reach status; each service has its one database for the module.

"In" means a case, filing or filter in district 5001 (province 50) through channel
``line``; "out" one in district 1001 (province 10) through ``walk_in``.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.routing import BaseRoute, Route

from services.intake.main import create_app as intake_app
from services.kpi.main import create_app as kpi_app
from services.status.main import create_app as status_app
from shared.auth.api_keys import new_api_key
from shared.auth.principal import Role
from shared.config import Settings
from tests.auth import TEST_SECRET, bearer, token
from tests.service_app import RunningApp, running_app
from tests.waiting import eventually

pytestmark = pytest.mark.integration

IN = {"district_code": "5001", "province_code": "50", "channel": "line"}
OUT = {"district_code": "1001", "province_code": "10", "channel": "walk_in"}
CASES_PER_POOL = 10  # each transition that succeeds consumes one
NOT_ROUTES = {"/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}

TOKENS = {
    Role.channel: token(Role.channel, "channel-line", channel="line"),
    Role.district_officer: token(Role.district_officer, "o-5001", district_code="5001"),
    Role.provincial_officer: token(Role.provincial_officer, "p-50", province_code="50"),
    Role.national_supervisor: token(Role.national_supervisor, "n-1"),
    Role.auditor: token(Role.auditor, "a-1"),
    Role.admin: token(Role.admin, "admin-1"),
    Role.notifier: token(Role.notifier, "notify"),
}
OTHER_OFFICER = token(Role.district_officer, "o-1001", district_code="1001")


@dataclass
class Platform:
    apps: dict[str, RunningApp]
    api_key: str
    cases: dict[bool, list[str]] = field(default_factory=dict)  # inside? -> complaint ids
    read_cases: dict[bool, str] = field(default_factory=dict)
    erasable: dict[bool, str] = field(default_factory=dict)  # inside? -> complainant ref

    def client(self, service: str) -> httpx.AsyncClient:
        return self.apps[service].client

    def seen(self, inside: bool) -> str:
        """A case that is never moved (the reads' target)."""
        return self.read_cases[inside]

    def fresh(self, inside: bool) -> str:
        """A case still ``filed``, so that ``accept`` is legal on it."""
        return self.cases[inside][-1]

    def moved(self, inside: bool, cid: str) -> None:
        """``cid`` (the last ``fresh``) was moved: the next ``fresh`` is another case."""
        assert self.cases[inside].pop() == cid


async def _file(
    client: httpx.AsyncClient, area: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {
        "channel": area["channel"],
        "district_code": area["district_code"],
        "category": "land",
        "subject": "ที่ดิน",
        "description": "รั้วรุกล้ำ",
        "complainant": {"anonymous": False, "name": "สมชาย ใจดี", "phone": "0812345678"},
    }
    return await client.post(
        "/v1/complaints",
        json=body,
        headers={"Idempotency-Key": uuid.uuid4().hex, **(headers or {})},
    )


@pytest.fixture(scope="module")
async def platform(infra: dict[str, str]) -> AsyncIterator[Platform]:
    key, digest = new_api_key()
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(
            running_app(intake_app, infra, auth_api_keys={digest: "line"})
        )
        shared_topics = {
            "events_topic": intake.settings.events_topic,
            "dlq_topic": intake.settings.dlq_topic,
        }
        status = await stack.enter_async_context(running_app(status_app, infra, **shared_topics))
        kpi = await stack.enter_async_context(running_app(kpi_app, infra, **shared_topics))
        p = Platform({"intake": intake, "status": status, "kpi": kpi}, key)
        for inside, area in ((True, IN), (False, OUT)):
            p.cases[inside] = [
                (await _file(intake.client, area)).json()["complaint_id"]
                for _ in range(CASES_PER_POOL)
            ]
            p.read_cases[inside] = (await _file(intake.client, area)).json()["complaint_id"]
            p.erasable[inside] = (await _file(intake.client, area)).json()["complainant_ref"]
        for cid in [*p.cases[True], *p.cases[False], *p.read_cases.values()]:
            await eventually(
                functools.partial(status.client.get, f"/v1/complaints/{cid}"),
                lambda r: r.status_code == 200,
            )
        yield p


@pytest.fixture
def anonymous(platform: Platform) -> Iterator[Platform]:
    """The platform with clients that send no credential of their own (the apps' clients
    send an admin token by default)."""
    saved = {name: app.client.headers.pop("Authorization") for name, app in platform.apps.items()}
    try:
        yield platform
    finally:
        for name, value in saved.items():
            platform.apps[name].client.headers["Authorization"] = value


# -- one request per route: (platform, headers, inside) -> what to compare --------------------

Call = Callable[[Platform, dict[str, str], bool], Awaitable[Any]]


def _area(inside: bool) -> dict[str, str]:
    return IN if inside else OUT


async def _post_complaint(p: Platform, h: dict[str, str], inside: bool) -> int:
    return (await _file(p.client("intake"), _area(inside), h)).status_code


async def _import(p: Platform, h: dict[str, str], inside: bool) -> tuple[int, int | None]:
    csv = (
        "district_code,category,subject,received_at,channel\r\n"
        f"{_area(inside)['district_code']},land,{uuid.uuid4().hex},01/10/2567,letter\r\n"
    )
    # wait=true: the summary in the answer (the job's access is the row of GET below).
    r = await p.client("intake").post(
        "/v1/imports", headers=h, params={"wait": "true"}, files={"file": ("r.csv", csv.encode())}
    )
    return r.status_code, r.json().get("filed")


def _register(district: str) -> bytes:
    return (
        "district_code,category,subject,received_at,channel\r\n"
        f"{district},land,{uuid.uuid4().hex},01/10/2567,letter\r\n"
    ).encode()


async def _stage(p: Platform, h: dict[str, str], inside: bool) -> tuple[int, int | None]:
    r = await p.client("intake").post(
        "/v1/imports/jobs",
        headers=h,
        files={"file": ("r.csv", _register(_area(inside)["district_code"]))},
    )
    return r.status_code, r.json().get("preview", {}).get("to_file")


def _staged_job(method: str, path: str) -> Call:
    """A staged import of o-5001 (inside) or of another officer (outside), then
    ``method path`` on it as the caller."""

    async def call(p: Platform, h: dict[str, str], inside: bool) -> int:
        owner = TOKENS[Role.district_officer] if inside else OTHER_OFFICER
        district = "5001" if inside else "1001"
        staged = await p.client("intake").post(
            "/v1/imports/jobs",
            headers=bearer(owner),
            files={"file": ("r.csv", _register(district))},
        )
        url = path.format(job=staged.json()["job_id"])
        return (await p.client("intake").request(method, url, headers=h)).status_code

    return call


async def _import_job(p: Platform, h: dict[str, str], inside: bool) -> int:
    """An import job of o-5001 (inside) or of another officer (outside), read as the
    caller."""
    owner = TOKENS[Role.district_officer] if inside else OTHER_OFFICER
    district = "5001" if inside else "1001"
    job = await p.client("intake").post(
        "/v1/imports", headers=bearer(owner), files={"file": ("r.csv", _register(district))}
    )
    assert job.status_code == 202, job.text
    return (await p.client("intake").get(job.headers["location"], headers=h)).status_code


def _get(service: str, path: str, **params: Any) -> Call:
    async def call(p: Platform, h: dict[str, str], inside: bool) -> int:
        url = path.format(cid=p.seen(inside))
        return (await p.client(service).get(url, params=params, headers=h)).status_code

    return call


def _filtered(service: str, path: str, **params: Any) -> Call:
    async def call(p: Platform, h: dict[str, str], inside: bool) -> int:
        query = {**params, "district_code": _area(inside)["district_code"]}
        return (await p.client(service).get(path, params=query, headers=h)).status_code

    return call


async def _transition(p: Platform, h: dict[str, str], inside: bool) -> int:
    cid = p.fresh(inside)
    r = await p.client("status").post(
        f"/v1/complaints/{cid}/transitions", headers=h, json={"action": "accept"}
    )
    if r.status_code == 200:
        p.moved(inside, cid)
    return r.status_code


async def _bulk(p: Platform, h: dict[str, str], inside: bool) -> tuple[int, int | None]:
    cid = p.fresh(inside)
    r = await p.client("status").post(
        "/v1/complaints:bulk-transition",
        headers=h,
        json={"items": [{"complaint_id": cid, "action": "accept"}]},
    )
    if r.status_code != 200:
        return r.status_code, None
    item = r.json()["results"][0]
    if item["ok"]:
        p.moved(inside, cid)
    return 200, 200 if item["ok"] else item["error"]["status"]


async def _erase(p: Platform, h: dict[str, str], inside: bool) -> tuple[int, int]:
    """Erasure is idempotent (204 again), so one complainant per side serves every role, by
    each way an officer learns the reference: the filing's answer (the complainant filed for
    erasure) and the case as intake shows it (a pool case's)."""
    intake, cid = p.client("intake"), p.cases[inside][0]
    shown = (await intake.get(f"/v1/complaints/{cid}", headers=bearer(TOKENS[Role.admin]))).json()[
        "complainant_ref"
    ]
    filed, read = [
        (await intake.delete(f"/v1/complainants/{ref}", headers=h)).status_code
        for ref in (p.erasable[inside], shown)
    ]
    return filed, read


# -- the answers: role -> (in, out) -------------------------------------------------------------

R = Role
# The notify service's role may read consented contact details and nothing else.
NOTIFIER = {R.notifier: (403, 403)}
# Code lists are for any authenticated caller, the notify service included.
REFERENCE = dict.fromkeys(Role, (200, 200))
ALL = {**REFERENCE, **NOTIFIER}
CASE_READ = {
    R.channel: (403, 403),
    R.district_officer: (200, 404),
    R.provincial_officer: (200, 404),
    R.national_supervisor: (200, 200),
    R.auditor: (200, 200),
    R.admin: (200, 200),
    **NOTIFIER,
}
LISTS = {**CASE_READ, R.district_officer: (200, 403), R.provincial_officer: (200, 403)}
UNSCOPED_READ = {**ALL, R.channel: (403, 403)}
MOVE = {
    R.channel: (403, 403),
    R.district_officer: (200, 403),
    R.provincial_officer: (200, 403),
    R.national_supervisor: (403, 403),
    R.auditor: (403, 403),
    R.admin: (200, 200),
    **NOTIFIER,
}
BULK = {
    R.channel: ((403, None), (403, None)),
    R.district_officer: ((200, 200), (200, 403)),
    R.provincial_officer: ((200, 200), (200, 403)),
    R.national_supervisor: ((403, None), (403, None)),
    R.auditor: ((403, None), (403, None)),
    R.admin: ((200, 200), (200, 200)),
    R.notifier: ((403, None), (403, None)),
}
FILE = {
    R.channel: (201, 403),
    R.district_officer: (201, 403),
    R.provincial_officer: (403, 403),
    R.national_supervisor: (403, 403),
    R.auditor: (403, 403),
    R.admin: (201, 201),
    **NOTIFIER,
}
IMPORT = {
    **dict.fromkeys(Role, ((403, None), (403, None))),
    R.district_officer: ((200, 1), (200, 0)),
    R.admin: ((200, 1), (200, 1)),
}
STAGE = {
    **dict.fromkeys(Role, ((403, None), (403, None))),
    R.district_officer: ((201, 1), (201, 0)),
    R.admin: ((201, 1), (201, 1)),
}
# A staged import is its officer's (or an admin's): another officer's is not there (404)
# and may not be confirmed (403).
OWN_JOB = {**dict.fromkeys(Role, (403, 403)), R.district_officer: (200, 404), R.admin: (200, 200)}
CONFIRM = {**dict.fromkeys(Role, (403, 403)), R.district_officer: (202, 403), R.admin: (202, 202)}
AUDIT = {**dict.fromkeys(Role, (403, 403)), R.auditor: (200, 200), R.admin: (200, 200)}
# Clear personal data needs the pii_reader grant, which none of TOKENS has.
CLEAR_READ = {
    **dict.fromkeys(Role, (403, 404)),
    **NOTIFIER,
    R.channel: (403, 403),
    R.national_supervisor: (403, 403),
    R.auditor: (403, 403),
    R.admin: (403, 403),
}
ERASE = {
    **dict.fromkeys(Role, ((403, 403), (403, 403))),
    R.district_officer: ((204, 204), (403, 403)),
    R.admin: ((204, 204), (204, 204)),
}
# Contact details go to the notify service only (the policy grants ``read_contact`` to the
# notifier role alone): not even to an admin.
CONTACT = {**dict.fromkeys(Role, (403, 403)), R.notifier: (200, 200)}
FY = {"fiscal_year": 2569}

MATRIX: dict[tuple[str, str, str], tuple[Call, dict[Role, tuple[Any, Any]]]] = {
    ("intake", "POST", "/v1/complaints"): (_post_complaint, FILE),
    ("intake", "POST", "/v1/imports"): (_import, IMPORT),
    ("intake", "GET", "/v1/imports/{job_id}"): (_import_job, OWN_JOB),
    ("intake", "POST", "/v1/imports/jobs"): (_stage, STAGE),
    ("intake", "POST", "/v1/imports/jobs/{job_id}/confirm"): (
        _staged_job("POST", "/v1/imports/jobs/{job}/confirm"),
        CONFIRM,
    ),
    ("intake", "GET", "/v1/imports/jobs/{job_id}"): (
        _staged_job("GET", "/v1/imports/jobs/{job}"),
        OWN_JOB,
    ),
    ("intake", "GET", "/v1/imports/jobs/{job_id}/rejected"): (
        _staged_job("GET", "/v1/imports/jobs/{job}/rejected"),
        OWN_JOB,
    ),
    ("intake", "GET", "/v1/complaints/{complaint_id}"): (
        _get("intake", "/v1/complaints/{cid}"),
        CASE_READ,
    ),
    ("intake", "GET", "/v1/complaints/{complaint_id}/complainant"): (
        _get("intake", "/v1/complaints/{cid}/complainant"),
        CLEAR_READ,
    ),
    ("intake", "GET", "/v1/pii-access"): (_get("intake", "/v1/pii-access"), AUDIT),
    ("intake", "GET", "/internal/v1/complaints/{complaint_id}/contact"): (
        _get("intake", "/internal/v1/complaints/{cid}/contact"),
        CONTACT,
    ),
    ("intake", "DELETE", "/v1/complainants/{complainant_ref}"): (_erase, ERASE),
    **{
        ("intake", "GET", f"/v1/reference/{name}"): (
            _get("intake", f"/v1/reference/{name}"),
            REFERENCE,
        )
        for name in ("channels", "categories", "provinces", "districts")
    },
    ("intake", "GET", "/v1/reference/subdistricts"): (
        _get("intake", "/v1/reference/subdistricts", district_code="5001"),
        REFERENCE,
    ),
    ("status", "POST", "/v1/complaints/{complaint_id}/transitions"): (_transition, MOVE),
    ("status", "POST", "/v1/complaints:bulk-transition"): (_bulk, BULK),
    ("status", "GET", "/v1/complaints/{complaint_id}"): (
        _get("status", "/v1/complaints/{cid}"),
        CASE_READ,
    ),
    ("status", "GET", "/v1/complaints/{complaint_id}/history"): (
        _get("status", "/v1/complaints/{cid}/history"),
        CASE_READ,
    ),
    **{
        ("status", "GET", f"/v1/worklists/{name}"): (
            _filtered("status", f"/v1/worklists/{name}"),
            LISTS,
        )
        for name in ("stale", "overdue", "backlog", "reopen_requests")
    },
    **{
        ("kpi", "GET", f"/v1/kpi/{name}"): (_filtered("kpi", f"/v1/kpi/{name}", **FY), LISTS)
        for name in (
            "summary",
            "backlog",
            "carry-over",
            "aging",
            "recording",
            "monthly",
            "dashboard",
            "districts",
            "satisfaction",
        )
    },
    ("kpi", "GET", "/v1/kpi/progress"): (_get("kpi", "/v1/kpi/progress"), UNSCOPED_READ),
    ("status", "GET", "/v1/reports/cases"): (
        _filtered("status", "/v1/reports/cases", **{"from": "2025-10-01", "to": "2026-09-30"}),
        AUDIT,
    ),
}


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[Route, str]]:
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:  # recent FastAPI keeps an included router as one route
            context = route.include_context  # type: ignore[attr-defined]  # FastAPI's, untyped
            yield from _walk(inner.routes, prefix + context.prefix)
        elif isinstance(route, Route):
            yield route, prefix + route.path
        else:
            raise AssertionError(f"a route of unknown kind: {route!r}")


def routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, but the documentation and /healthz."""
    return {
        (m, path)
        for route, path in _walk(app.routes)
        if path not in NOT_ROUTES
        for m in route.methods or ()
        if m != "HEAD"
    }


# Routes whose credential is not a caller's token but in the request itself (a feedback
# link's token): decided public, and tested with their own credential where they live.
PUBLIC = {
    ("status", "GET", "/v1/feedback/{token}"),
    ("status", "POST", "/v1/feedback"),
    # LINE's deliveries: the X-Line-Signature (HMAC of the body with the channel secret).
    ("intake", "POST", "/channels/line/webhook"),
    # Public tracking: the proof (the phone's last digits or the secret) is in the request;
    # tested in tests/integration/intake/test_tracking.py.
    ("intake", "GET", "/v1/track/{tracking_no}"),
    # Open311 GeoReport v2: the public view of requests, and filing with a channel's
    # api_key in the form (tests/integration/intake/test_open311_*.py); any other method
    # or path under the prefix answers the specification's error document.
    *(
        ("intake", "GET", f"/open311/v2/{path}.{{fmt}}")
        for path in (
            "discovery",
            "services",
            "services/{code}",
            "requests",
            "requests/{request_id}",
            "tokens/{token}",
        )
    ),
    ("intake", "POST", "/open311/v2/requests.json"),
    ("intake", "POST", "/open311/v2/requests.xml"),
    *(
        ("intake", method, "/open311/v2/{rest:path}")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    ),
}


def test_every_route_is_in_the_matrix() -> None:
    """A route without a row here (or in PUBLIC) is a route nobody decided the access
    rules of."""
    settings = Settings(auth_jwt_secret=SecretStr(TEST_SECRET))
    served = {
        (svc, m, path)
        for svc, make in (("intake", intake_app), ("status", status_app), ("kpi", kpi_app))
        for m, path in routes(make(settings))
    }
    assert served == set(MATRIX) | PUBLIC


@pytest.mark.parametrize("route", list(MATRIX), ids=lambda r: f"{r[0]} {r[1]} {r[2]}")
async def test_each_role_in_and_out_of_jurisdiction(
    platform: Platform, route: tuple[str, str, str]
) -> None:
    call, expected = MATRIX[route]
    got = {
        role: (await call(platform, bearer(tok), True), await call(platform, bearer(tok), False))
        for role, tok in TOKENS.items()
    }
    assert got == expected


BAD_CREDENTIALS = {
    "missing": {},
    "malformed": {"Authorization": "Bearer not-a-jwt"},
    "not bearer": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "expired": bearer(token(ttl=dt.timedelta(minutes=-5))),
    "wrong issuer": bearer(token(issuer="https://elsewhere")),
    "wrong audience": bearer(token(audience="another-app")),
    "wrong signature": bearer(token(secret="another-secret-" + "y" * 40)),
    "unknown api key": {"X-API-Key": "dmr_unknown"},
}


@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
async def test_every_route_answers_401_without_a_valid_credential(
    anonymous: Platform, case: str
) -> None:
    codes = {
        route: await call(anonymous, BAD_CREDENTIALS[case], False)
        for route, (call, _) in MATRIX.items()
    }
    first = {route: (c[0] if isinstance(c, tuple) else c) for route, c in codes.items()}
    assert first == dict.fromkeys(MATRIX, 401)
    r = await anonymous.client("status").get(
        f"/v1/complaints/{anonymous.seen(True)}", headers=BAD_CREDENTIALS[case]
    )
    assert r.headers["www-authenticate"].startswith('Bearer realm="damrong"')
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 401


async def test_health_stays_open(anonymous: Platform) -> None:
    for service in ("intake", "status", "kpi"):
        assert (await anonymous.client(service).get("/healthz")).status_code == 200


async def test_a_channel_api_key_files_for_its_channel_only(anonymous: Platform) -> None:
    key = {"X-API-Key": anonymous.api_key}
    assert (await _file(anonymous.client("intake"), IN, key)).status_code == 201
    assert (await _file(anonymous.client("intake"), OUT, key)).status_code == 403
    r = await anonymous.client("intake").get("/v1/reference/channels", headers=key)
    assert r.status_code == 200
    r = await anonymous.client("intake").get(f"/v1/complaints/{anonymous.seen(True)}", headers=key)
    assert r.status_code == 403


async def test_the_actor_recorded_is_the_token_subject(platform: Platform) -> None:
    status = platform.client("status")
    one = platform.fresh(True)
    officer = bearer(TOKENS[Role.district_officer])
    r = await status.post(
        f"/v1/complaints/{one}/transitions",
        headers=officer,
        json={"action": "accept", "actor": "someone-else"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "actor"
    assert (
        await status.post(
            f"/v1/complaints/{one}/transitions", headers=officer, json={"action": "accept"}
        )
    ).status_code == 200
    platform.moved(True, one)
    two = platform.fresh(True)
    r = await status.post(
        "/v1/complaints:bulk-transition",
        headers=bearer(TOKENS[Role.admin]),
        json={"items": [{"complaint_id": two, "action": "accept"}]},
    )
    assert r.json()["succeeded"] == 1
    for cid, subject in ((one, "o-5001"), (two, "admin-1")):
        events = (await status.get(f"/v1/complaints/{cid}/history")).json()["events"]
        assert [e["actor"] for e in events] == [None, subject]
        assert events[1]["data"]["actor"] == subject


async def test_auditors_see_personal_data_only_when_granted(platform: Platform) -> None:
    intake, cid = platform.client("intake"), platform.seen(True)
    plain = (await intake.get(f"/v1/complaints/{cid}", headers=bearer(TOKENS[Role.auditor]))).json()
    assert plain["complainant"] is None and plain["subject"] is None
    granted = bearer(token(Role.auditor, "a-2", grants=("pii_reader",)))
    shown = (await intake.get(f"/v1/complaints/{cid}", headers=granted)).json()
    assert shown["subject"] == "ที่ดิน"
    assert shown["complainant"]["name"] not in (None, "สมชาย ใจดี")  # masked, but there
