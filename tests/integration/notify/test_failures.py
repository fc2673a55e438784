"""Failed sends: a transient failure is retried with back-off until it passes; a permanent
one, or the last attempt, makes the message dead and dead-letters its event's record,
which `damrong dlq list` shows and `damrong dlq replay` feeds back: notify then tries the
dead message again, and nothing else is sent twice."""

from __future__ import annotations

import json

import pytest

from shared.auth.principal import Role
from tests.auth import bearer, token
from tests.integration.notify.conftest import Rig, person
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def test_retried_after_two_failures_then_sent(rig: Rig) -> None:
    who = person()
    rig.sms.fail_next(503, times=2)
    async with rig.notify(notify_max_attempts=5):
        case = await rig.file(who, ["sms"])
        rows = await rig.settled(case, 3)
    sms = next(r for r in rows if r["channel"] == "sms")
    assert (sms["status"], sms["attempts"], sms["error_class"]) == ("sent", 3, None)
    assert rig.sms.statuses[:3] == [503, 503, 200]
    assert len(rig.sms.texts_to(who.phone)) == 1


async def test_a_refused_connection_is_transient(rig: Rig) -> None:
    who = person()
    rig.sms.stop()  # the gateway is down: connections are refused
    async with rig.notify(notify_max_attempts=2):
        case = await rig.file(who, ["sms"])
        rows = await rig.settled(case, 3)
    sms = next(r for r in rows if r["channel"] == "sms")
    assert sms["status"] == "dead" and sms["attempts"] == 2
    assert sms["error_class"].startswith("gave up after 2 attempts: connection")


async def test_a_permanent_failure_is_dead_at_once(rig: Rig) -> None:
    who = person()
    rig.smtp.refuse_next("550 5.1.1 No such user", times=1)
    async with rig.notify():
        case = await rig.file(who, ["email"])
        rows = await rig.settled(case, 3)
    mail = next(r for r in rows if r["channel"] == "email")
    assert (mail["status"], mail["attempts"]) == ("dead", 1)
    assert mail["error_class"] == "permanent: smtp 550 recipient refused"


async def test_an_smtp_4xx_is_retried(rig: Rig) -> None:
    who = person()
    rig.smtp.refuse_next("451 4.3.0 Try again later", times=1)
    async with rig.notify():
        case = await rig.file(who, ["email"])
        rows = await rig.settled(case, 3)
    mail = next(r for r in rows if r["channel"] == "email")
    assert (mail["status"], mail["attempts"]) == ("sent", 2)
    assert len(rig.smtp.messages_to(who.email)) == 1


async def test_line_5xx_retried_and_a_repeat_of_an_accepted_push_counts_as_sent(rig: Rig) -> None:
    who = person()
    rig.line.fail_next(500, times=1)
    async with rig.notify():
        case = await rig.file(who, ["line"])
        rows = await rig.settled(case, 3)
    line = next(r for r in rows if r["channel"] == "line")
    assert (line["status"], line["attempts"]) == ("sent", 2)
    pushes = [c for c in rig.line.pushes() if c.json["to"] == who.line_user_id]
    assert len(pushes) == 1 and case.tracking_no in pushes[0].texts()[0]


async def test_dead_after_n_attempts_then_listed_and_replayed(rig: Rig) -> None:
    who = person()
    rig.sms.fail_next(503, times=3)
    async with rig.notify(notify_max_attempts=3):
        case = await rig.file(who, ["sms", "email"])
        rows = await rig.settled(case, 3)
        sms = next(r for r in rows if r["channel"] == "sms")
        assert (sms["status"], sms["attempts"]) == ("dead", 3)

        async def published() -> bool:
            return bool(
                await rig.db.fetchval(
                    "SELECT dlq_published FROM notifications WHERE complaint_id = $1 "
                    "AND channel = 'sms'",
                    case.complaint_id,
                )
            )

        await eventually(published, timeout=30)
        listed = await rig.cli("list", "--json", "--case", str(case.complaint_id))
        assert listed.code == 0, listed.stderr
        letters = [json.loads(line) for line in listed.stdout.splitlines()]
        assert len(letters) == 1
        letter = letters[0]
        assert letter["group"] == f"{rig.settings.consumer_group_prefix}-notify"
        assert letter["error"] == "notify sms: gave up after 3 attempts: http 503"
        assert letter["type"] == "th.go.dopa.damrong.complaint.filed.v1"
        assert letter["version"] == "1"
        assert letter["origin"].startswith(rig.settings.events_topic + "/")
        assert rig.sms.texts_to(who.phone) == []

        # The gateway works again: the operator replays the dead letter.
        replayed = await rig.cli("replay", "--case", str(case.complaint_id), "--json")
        assert replayed.code == 0, replayed.stderr
        totals = json.loads(replayed.stdout.splitlines()[-1])
        assert (totals["published"], totals["refused"]) == (1, 0)

        async def resent() -> list[str]:
            return rig.sms.texts_to(who.phone)

        texts = await eventually(resent, lambda t: len(t) == 1, timeout=60)
        rows = await rig.settled(case, 3)
        # A second replay (of a message now sent) changes nothing.
        again = await rig.cli("replay", "--case", str(case.complaint_id))
        assert again.code == 0, again.stderr
        marker = await rig.file(person(), ["sms"])
        await rig.settled(marker, 3)
    assert case.tracking_no in texts[0]
    sms = next(r for r in rows if r["channel"] == "sms")
    assert (sms["status"], sms["attempts"], sms["dlq_published"]) == ("sent", 1, False)
    assert len(rig.sms.texts_to(who.phone)) == 1
    assert len(rig.smtp.messages_to(who.email)) == 1  # sent once, never again


async def test_an_erased_complainant_is_not_told(rig: Rig) -> None:
    who = person()
    async with rig.notify(notify_sender_enabled=False):
        case = await rig.file(who, ["sms"])

        async def recorded() -> int:
            return len(await rig.rows(case))

        await eventually(recorded, lambda n: n == 3, timeout=60)
    reader = bearer(token(Role.admin, "pdpa-officer", grants=("pii_reader",)))
    clear = await rig.intake.get(f"/v1/complaints/{case.complaint_id}/complainant", headers=reader)
    ref = clear.json()["complainant_ref"]
    assert (await rig.intake.delete(f"/v1/complainants/{ref}")).status_code == 204
    async with rig.notify():
        rows = await rig.settled(case, 3)
    sms = next(r for r in rows if r["channel"] == "sms")
    assert (sms["status"], sms["error_class"]) == ("skipped", "personal data erased")
    assert rig.sms.texts_to(who.phone) == []
