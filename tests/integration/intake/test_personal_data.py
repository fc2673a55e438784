"""Personal data in intake on the real PostgreSQL: sealed at rest, masked reads, recorded
clear reads, erasure by destroying the key, whistle-blower cases, plaintext rows sealed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest

from services.intake.pii.domain.envelope import Unreadable, open_identity, unwrap_key
from services.intake.pii.domain.keys import PiiKeys
from services.intake.pii.store import rewrap_keys, seal_plaintext_rows
from shared.auth.principal import Role
from shared.db import create_pool
from tests.auth import bearer, token
from tests.integration.intake.conftest import IntakeService
from tests.pii import KEYS

pytestmark = pytest.mark.integration

PIN = "3100503361236"
PERSON = {
    "anonymous": False,
    "title": "นาง",
    "name": "บุษบา ปิ่นทอง",
    "national_id": PIN,
    "phone": "089-765-4321",
    "email": "busaba.p@example.org",
    "address": "12 ซอยร่มเย็น",
}
READER = bearer(
    token(Role.district_officer, "reader-5001", district_code="5001", grants=("pii_reader",))
)
OFFICER = bearer(token(Role.district_officer, "o-5001", district_code="5001"))
OTHER_DISTRICT = bearer(
    token(Role.district_officer, "o-5004", district_code="5004", grants=("pii_reader",))
)
AUDITOR = bearer(token(Role.auditor, "aud-1"))


async def file(intake: IntakeService, **overrides: Any) -> dict[str, Any]:
    body = {
        "channel": "walk_in",
        "district_code": "5001",
        "category": "land",
        "subject": "ที่ดิน",
        "description": "รายละเอียด",
        "complainant": PERSON,
        **overrides,
    }
    r = await intake.client.post("/v1/complaints", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_clear_read_needs_the_grant_and_is_recorded(intake: IntakeService) -> None:
    filed = await file(intake)
    cid = filed["complaint_id"]
    url = f"/v1/complaints/{cid}/complainant"
    assert (await intake.client.get(url, headers=OFFICER)).status_code == 403
    assert (await intake.client.get(url, headers=AUDITOR)).status_code == 403
    assert (await intake.client.get(url, headers=OTHER_DISTRICT)).status_code == 404
    assert (
        await intake.client.get(f"/v1/complaints/{uuid.uuid4()}/complainant", headers=READER)
    ).status_code == 404

    r = await intake.client.get(url, headers=READER)
    assert r.status_code == 200, r.text
    clear = r.json()
    assert (clear["name"], clear["national_id"], clear["phone"]) == (
        "บุษบา ปิ่นทอง",
        PIN,
        "+66897654321",
    )
    assert clear["complainant_ref"] == filed["complainant_ref"]

    log = await intake.client.get("/v1/pii-access", params={"complaint_id": cid}, headers=AUDITOR)
    assert log.status_code == 200
    (entry,) = log.json()  # refused reads are not reads
    assert (entry["subject"], entry["action"]) == ("reader-5001", "read")
    assert entry["fields"] == ["address", "email", "name", "national_id", "phone", "title"]
    assert (await intake.client.get("/v1/pii-access", headers=OFFICER)).status_code == 403

    # The masked read shows the ref to pii_readers and to who may erase, not to others.
    masked = (await intake.client.get(f"/v1/complaints/{cid}", headers=OFFICER)).json()
    assert masked["complainant_ref"] == filed["complainant_ref"]
    assert masked["complainant"]["national_id"] == "3-xxxx-xxxxx-23-6"
    national = bearer(token(Role.national_supervisor, "n-1"))
    assert (await intake.client.get(f"/v1/complaints/{cid}", headers=national)).json()[
        "complainant_ref"
    ] is None


async def test_erasure_destroys_the_key_for_good(intake: IntakeService) -> None:
    filed = await file(intake)
    cid, ref = uuid.UUID(filed["complaint_id"]), filed["complainant_ref"]
    # What a backup taken now would hold.
    backup = await intake.db.fetchrow(
        "SELECT c.identity, k.key_id, k.wrapped_key FROM complaints c "
        "JOIN complainants k USING (complaint_id) WHERE complaint_id = $1",
        cid,
    )
    assert backup is not None

    url = f"/v1/complainants/{ref}"
    assert (await intake.client.delete(url, headers=OTHER_DISTRICT)).status_code == 403
    assert (await intake.client.delete(url, headers=AUDITOR)).status_code == 403
    assert (await intake.client.delete(f"/v1/complainants/{uuid.uuid4()}")).status_code == 404
    r = await intake.client.delete(url, headers=OFFICER)
    assert r.status_code == 204, r.text
    assert (await intake.client.delete(url)).status_code == 204  # idempotent

    gone = await intake.client.get(f"/v1/complaints/{cid}/complainant", headers=READER)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    masked = (await intake.client.get(f"/v1/complaints/{cid}")).json()
    assert masked["complainant"]["erased"] is True and masked["complainant"]["name"] is None
    assert masked["tracking_no"] == filed["tracking_no"]  # the case itself stays

    after = await intake.db.fetchrow(
        "SELECT c.identity, c.complainant_masked, k.wrapped_key, k.key_id, k.erased_by "
        "FROM complaints c JOIN complainants k USING (complaint_id) "
        "WHERE complaint_id = $1",
        cid,
    )
    assert after is not None
    assert after["identity"] is None and after["wrapped_key"] is None
    assert after["key_id"] is None and after["erased_by"] == "o-5001"
    assert "บุษบา" not in after["complainant_masked"]
    # The old ciphertext is useless with the master key: its data key no longer exists.
    with pytest.raises(Unreadable):
        open_identity(KEYS.master, cid, uuid.UUID(ref), bytes(backup["identity"]))
    # (Only the destroyed wrapped key opened it.)
    key = unwrap_key(KEYS, uuid.UUID(ref), backup["key_id"], bytes(backup["wrapped_key"]))
    assert open_identity(key, cid, uuid.UUID(ref), bytes(backup["identity"]))["name"]

    log = (
        await intake.client.get(
            "/v1/pii-access", params={"complaint_id": str(cid)}, headers=AUDITOR
        )
    ).json()
    assert [(e["action"], e["subject"]) for e in log] == [("erase", "o-5001")]


async def test_anonymous_complaints_store_no_identity(intake: IntakeService) -> None:
    filed = await file(intake, complainant={"anonymous": True})
    assert filed["complainant_ref"] is None
    row = await intake.db.fetchrow(
        "SELECT complainant, complainant_ref, identity FROM complaints WHERE complaint_id = $1",
        uuid.UUID(filed["complaint_id"]),
    )
    assert row is not None
    assert tuple(row) == (None, None, None)
    r = await intake.client.get(
        f"/v1/complaints/{filed['complaint_id']}/complainant", headers=READER
    )
    assert r.json()["anonymous"] is True and r.json()["name"] is None


async def test_a_replay_answers_the_same_complainant_ref(intake: IntakeService) -> None:
    key = {"Idempotency-Key": f"pii-{uuid.uuid4()}"}
    body = {
        "channel": "walk_in",
        "district_code": "5001",
        "category": "land",
        "subject": "ที่ดิน",
        "description": "x",
        "complainant": PERSON,
    }
    first = await intake.client.post("/v1/complaints", json=body, headers=key)
    again = await intake.client.post("/v1/complaints", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["complainant_ref"] == first.json()["complainant_ref"]
    assert (
        await intake.db.fetchval(
            "SELECT count(*) FROM complainants WHERE complainant_ref = $1",
            uuid.UUID(first.json()["complainant_ref"]),
        )
        == 1
    )


async def test_whistle_blower_cases_are_hidden_from_the_district(
    intake: IntakeService,
) -> None:
    filed = await file(intake, category="official_misconduct")
    url = f"/v1/complaints/{filed['complaint_id']}"
    assert (await intake.client.get(url, headers=OFFICER)).status_code == 404
    assert (await intake.client.get(f"{url}/complainant", headers=READER)).status_code == 404
    assert (
        await intake.client.delete(f"/v1/complainants/{filed['complainant_ref']}", headers=OFFICER)
    ).status_code == 403
    province = bearer(token(Role.provincial_officer, "p-50", province_code="50"))
    assert (await intake.client.get(url, headers=province)).status_code == 200


async def test_rows_stored_in_clear_before_encryption_are_sealed(
    intake: IntakeService,
) -> None:
    filed = await file(intake)
    cid = uuid.UUID(filed["complaint_id"])
    # As a row of the first schema version held it.
    await intake.db.execute(
        "UPDATE complaints SET complainant = $2, complainant_ref = NULL, identity = NULL, "
        "complainant_masked = NULL WHERE complaint_id = $1",
        cid,
        orjson.dumps({**PERSON, "phone": "+66897654321"}).decode(),
    )
    pool = await create_pool(intake.settings.database_url, "intake", max_size=2)
    try:
        assert await seal_plaintext_rows(pool, KEYS, dt.datetime.now(dt.UTC)) >= 1
    finally:
        await pool.close()
    row = await intake.db.fetchrow(
        "SELECT complainant, complainant_masked FROM complaints WHERE complaint_id = $1", cid
    )
    assert row is not None
    assert row["complainant"] is None
    assert orjson.loads(row["complainant_masked"])["phone"] == "08x-xxx-4321"
    clear = (await intake.client.get(f"/v1/complaints/{cid}/complainant", headers=READER)).json()
    assert clear["national_id"] == PIN


async def test_a_master_key_rotation_rewraps_every_key(intake: IntakeService) -> None:
    filed = await file(intake)
    cid, ref = uuid.UUID(filed["complaint_id"]), uuid.UUID(filed["complainant_ref"])
    new_master = bytes(range(200, 232))
    rotated = PiiKeys.of(new_master, KEYS.hash_key, retired=(KEYS.master,))
    pool = await create_pool(intake.settings.database_url, "intake", max_size=2)
    try:
        assert await rewrap_keys(pool, rotated) >= 1
        row = await intake.db.fetchrow(
            "SELECT k.key_id, k.wrapped_key, c.identity FROM complainants k "
            "JOIN complaints c USING (complaint_id) WHERE k.complainant_ref = $1",
            ref,
        )
        assert row is not None
        assert row["key_id"] == rotated.current_id
        only_new = PiiKeys.of(new_master, KEYS.hash_key)
        key = unwrap_key(only_new, ref, row["key_id"], bytes(row["wrapped_key"]))
        assert open_identity(key, cid, ref, bytes(row["identity"]))["national_id"] == PIN
        with pytest.raises(Unreadable):  # the old master key alone no longer opens it
            unwrap_key(KEYS, ref, row["key_id"], bytes(row["wrapped_key"]))
    finally:
        # Back under the service's own key, for the tests that follow.
        await rewrap_keys(pool, PiiKeys.of(KEYS.master, KEYS.hash_key, retired=(new_master,)))
        await pool.close()
    assert (
        await intake.client.get(f"/v1/complaints/{cid}/complainant", headers=READER)
    ).status_code == 200
