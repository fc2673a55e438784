"""The worklists end to end, on a hand-built district with a pinned clock.

NOW is 2026-02-01 12:00 in Bangkok.  District D of province P holds (received → events):

    C  2025-10-15  accepted, started, forwarded 2025-12-01 (due 2026-01-15)  overdue, stale
    A  2025-11-01  filed only                                                stale
    G  2025-11-10  filed only (drugs, hotline)                               stale
    B  2025-12-01  accepted 2026-01-20
    D  2025-12-15  accepted, started, forwarded 2026-01-25 (due today)
    E  2025-09-01  closed 2025-10-01                                         not open
    F  2025-11-20  rejected 2025-11-21                                       not open
and H (2025-12-20, filed only) in another district of P.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.chain import GENESIS, seal
from shared.codes import CategoryCode, ChannelCode
from shared.events import ComplaintFiled
from tests.integration.status.conftest import StatusService
from tests.unit.status.factories import filed

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 2, 1, 5, 0, tzinfo=dt.UTC)


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=3, tzinfo=dt.UTC)


@pytest.fixture
async def district(status_service: StatusService) -> AsyncIterator[dict[str, Any]]:
    """The scenario above under fresh codes; yields {"prov", "dist", "dist2",
    name: complaint_id}."""
    svc = status_service
    svc.app.state.clock = lambda: NOW
    tag = uuid.uuid4().hex[:6]
    codes: dict[str, Any] = {"prov": f"p{tag}", "dist": f"d{tag}", "dist2": f"e{tag}"}
    try:
        plan: list[tuple[str, str, list[tuple[str, str, dict[str, Any]]]]] = [
            (
                "C",
                "2025-10-15",
                [
                    ("accept", "2025-12-01", {}),
                    ("start", "2025-12-01", {}),
                    ("forward", "2025-12-01", {"agency": "Land Office", "due_date": "2026-01-15"}),
                ],
            ),
            ("A", "2025-11-01", []),
            ("G", "2025-11-10", []),
            ("B", "2025-12-01", [("accept", "2026-01-20", {})]),
            (
                "D",
                "2025-12-15",
                [
                    ("accept", "2026-01-25", {}),
                    ("start", "2026-01-25", {}),
                    ("forward", "2026-01-25", {"agency": "Police", "due_date": "2026-02-01"}),
                ],
            ),
            ("E", "2025-09-01", [("close", "2025-10-01", {"reason": "resolved"})]),
            ("F", "2025-11-20", [("reject", "2025-11-21", {"reason": "not ours"})]),
            ("H", "2025-12-20", []),
        ]
        for name, received, moves in plan:
            env = filed(at=_at(received))
            data = env.data
            assert isinstance(data, ComplaintFiled)
            data = data.model_copy(
                update={
                    "province_code": codes["prov"],
                    "district_code": codes["dist2"] if name == "H" else codes["dist"],
                    **(
                        {"category": CategoryCode.drugs, "channel": ChannelCode.hotline_1567}
                        if name == "G"
                        else {}
                    ),
                }
            )
            # Sealed again: other content under the old hash is refused as altered.
            await svc.publish(seal(env.model_copy(update={"data": data}), GENESIS))
            await svc.wait_for_case(env.complaint_id)
            for action, day, kw in moves:
                r = await svc.client.post(
                    f"/v1/complaints/{env.complaint_id}/transitions",
                    json={"action": action, "occurred_at": _at(day).isoformat(), **kw},
                )
                assert r.status_code == 200, r.text
            codes[name] = str(env.complaint_id)
        yield codes
    finally:
        del svc.app.state.clock


async def _get(svc: StatusService, kind: str, **params: Any) -> dict[str, Any]:
    r = await svc.client.get(f"/v1/worklists/{kind}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _names(body: dict[str, Any], district: dict[str, Any]) -> list[str]:
    by_id = {v: k for k, v in district.items()}
    return [by_id[i["complaint_id"]] for i in body["items"]]


async def test_each_worklist(status_service: StatusService, district: dict[str, Any]) -> None:
    svc, d = status_service, district
    backlog = await _get(svc, "backlog", district_code=d["dist"])
    assert backlog["total"] == 5
    assert _names(backlog, d) == ["C", "A", "G", "B", "D"]
    assert [i["age_days"] for i in backlog["items"]] == [109, 92, 83, 62, 48]
    assert [i["days_since_last_event"] for i in backlog["items"]] == [62, 92, 83, 12, 7]
    first = backlog["items"][0]
    assert (first["status"], first["agency"], first["due_date"]) == (
        "forwarded",
        "Land Office",
        "2026-01-15",
    )
    assert first["received_at"] == "2025-10-15T10:00:00+07:00"  # reported in Bangkok time

    stale = await _get(svc, "stale", district_code=d["dist"], days=30)
    assert (_names(stale, d), stale["total"]) == (["A", "G", "C"], 3)
    assert _names(await _get(svc, "stale", district_code=d["dist"], days=62), d) == ["A", "G", "C"]
    assert _names(await _get(svc, "stale", district_code=d["dist"], days=63), d) == ["A", "G"]
    assert _names(await _get(svc, "stale", district_code=d["dist"]), d) == ["A", "G", "C"]

    overdue = await _get(svc, "overdue", district_code=d["dist"])
    assert (_names(overdue, d), overdue["total"]) == (["C"], 1)  # D is due today: not yet


async def test_filters_pages_and_limits(
    status_service: StatusService, district: dict[str, Any]
) -> None:
    svc, d = status_service, district
    assert _names(await _get(svc, "backlog", province_code=d["prov"]), d) == [
        "C",
        "A",
        "G",
        "B",
        "D",
        "H",
    ]
    assert _names(
        await _get(svc, "backlog", province_code=d["prov"], district_code=d["dist2"]), d
    ) == ["H"]
    assert _names(await _get(svc, "backlog", province_code=d["prov"], category="drugs"), d) == ["G"]
    assert _names(await _get(svc, "stale", province_code=d["prov"], channel="hotline_1567"), d) == [
        "G"
    ]
    assert _names(
        await _get(svc, "backlog", province_code=d["prov"], category="land", channel="walk_in"), d
    ) == ["C", "A", "B", "D", "H"]

    pages = [
        await _get(svc, "backlog", district_code=d["dist"], limit=2, offset=o) for o in (0, 2, 4, 6)
    ]
    assert [_names(p, d) for p in pages] == [["C", "A"], ["G", "B"], ["D"], []]
    assert {p["total"] for p in pages} == {5}
    assert (pages[1]["limit"], pages[1]["offset"]) == (2, 2)

    newest = await _get(svc, "backlog", district_code=d["dist"], sort="-received_at")
    assert _names(newest, d) == ["D", "B", "G", "A", "C"]
    quiet = await _get(svc, "backlog", district_code=d["dist"], sort="last_event_at")
    assert _names(quiet, d) == ["A", "G", "C", "B", "D"]

    for bad in (
        {"sort": "subject"},
        {"sort": "received_at; DROP TABLE cases"},
        {"limit": 1001},
        {"limit": 0},
        {"offset": -1},
        {"category": "nonsense"},
        {"format": "xml"},
    ):
        r = await svc.client.get("/v1/worklists/backlog", params=bad)
        assert r.status_code == 422, bad
    assert (await svc.client.get("/v1/worklists/stale", params={"days": -1})).status_code == 422


async def test_csv_is_the_same_rows(
    status_service: StatusService, district: dict[str, Any]
) -> None:
    svc, d = status_service, district
    params = {"district_code": d["dist"], "limit": 4, "offset": 1}
    as_json = await _get(svc, "backlog", **params)
    r = await svc.client.get("/v1/worklists/backlog", params={**params, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-total-count"] == "5"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "complaint_id",
        "tracking_no",
        "status",
        "province_code",
        "district_code",
        "category",
        "channel",
        "received_at",
        "last_event_at",
        "age_days",
        "days_since_last_event",
        "agency",
        "due_date",
    ]
    expected = [
        {k: "" if v is None else str(v) for k, v in item.items()} for item in as_json["items"]
    ]
    assert rows == expected
    assert [row["complaint_id"] for row in rows] == [d[n] for n in ("A", "G", "B", "D")]
    assert rows[2]["agency"] == "" and rows[3]["due_date"] == "2026-02-01"

    r = await svc.client.get(
        "/v1/worklists/overdue", params={"district_code": d["dist"], "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [(row["complaint_id"], row["agency"]) for row in rows] == [(d["C"], "Land Office")]


async def test_csv_without_a_limit_exports_the_whole_list_in_chunks(
    status_service: StatusService,
    district: dict[str, Any],
    monkeypatch: Any,
) -> None:
    from services.status.worklists import api as worklist_api

    monkeypatch.setattr(worklist_api, "EXPORT_CHUNK", 2)  # 5 cases: three chunks
    svc, d = status_service, district
    everything = await _get(svc, "backlog", district_code=d["dist"], limit=1000)
    r = await svc.client.get(
        "/v1/worklists/backlog", params={"district_code": d["dist"], "format": "csv"}
    )
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf") and r.content.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["complaint_id"] for row in rows] == [
        str(item["complaint_id"]) for item in everything["items"]
    ]
    assert len(rows) == everything["total"] == 5
