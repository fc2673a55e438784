"""Which events tell the complainant what: every message kind, and every other kind
(including kinds added after notify was written) telling nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from services.notify.domain import decisions
from shared.codes import CategoryCode, ChannelCode, ClosureReason
from shared.events import (
    CaseAccepted,
    CaseClosed,
    CaseForwarded,
    CaseRejected,
    CaseReopened,
    CaseStarted,
    ComplaintFiled,
    EventData,
    reply_due,
)
from tests.events import envelope

NOW = dt.datetime(2026, 3, 2, 4, tzinfo=dt.UTC)
CASE = decisions.CaseFacts("1001-2569-0000042", anonymous=False, backfilled=False)
MAX_AGE = dt.timedelta(hours=72)


def filed(*, anonymous: bool = False, backfilled: bool = False) -> ComplaintFiled:
    return ComplaintFiled(
        tracking_no=CASE.tracking_no,
        channel=ChannelCode.web,
        category=CategoryCode.land,
        province_code="10",
        district_code="1001",
        received_at=NOW,
        recorded_at=NOW,
        anonymous=anonymous,
        backfilled=backfilled,
    )


FORWARDED = CaseForwarded(
    actor="o", agency="การไฟฟ้าส่วนภูมิภาค", reply_due=reply_due(dt.date(2026, 3, 20), NOW)
)


@pytest.mark.parametrize(
    ("data", "template"),
    [
        (filed(), "received"),
        (CaseAccepted(actor="o"), "accepted"),
        (FORWARDED, "forwarded"),
        (CaseClosed(actor="o", reason=ClosureReason.resolved), "closed"),
        (CaseReopened(actor="o"), "reopened"),
        (CaseRejected(actor="o", reason="x"), None),
        (CaseStarted(actor="o"), None),
    ],
)
def test_each_kind_its_message_or_none(data: EventData, template: str | None) -> None:
    assert (
        decisions.to_notify(envelope(data, version=1 if template == "received" else 2), CASE)
        == template
    )


def test_a_kind_notify_does_not_know_tells_nothing() -> None:
    assert decisions.template_for("case.satisfaction_rated") is None
    assert decisions.template_for("case.reopen_requested") is None
    assert decisions.template_for("case.something_new") is None


def test_anonymous_backfilled_and_unknown_cases_tell_nothing() -> None:
    accepted = envelope(CaseAccepted(actor="o"))
    assert decisions.to_notify(accepted, None) is None
    anonymous = decisions.case_facts(filed(anonymous=True))
    assert decisions.to_notify(accepted, anonymous) is None
    backfilled = decisions.case_facts(filed(backfilled=True))
    assert decisions.to_notify(accepted, backfilled) is None
    assert decisions.to_notify(accepted, decisions.case_facts(filed())) == "accepted"


def test_an_old_event_is_stale() -> None:
    old = envelope(CaseAccepted(actor="o"), at=NOW - dt.timedelta(hours=73))
    fresh = envelope(CaseAccepted(actor="o"), at=NOW - dt.timedelta(hours=71))
    assert decisions.stale(old, NOW, MAX_AGE)
    assert not decisions.stale(fresh, NOW, MAX_AGE)


def test_params_carry_the_agency_and_the_closure_reason_in_thai_and_no_notes() -> None:
    assert decisions.params_of(envelope(FORWARDED), "T-1") == {
        "tracking_no": "T-1",
        "agency": "การไฟฟ้าส่วนภูมิภาค",
    }
    closed = CaseClosed(actor="o", note="โทร 0812345678", reason=ClosureReason.mediated)
    assert decisions.params_of(envelope(closed), "T-1") == {
        "tracking_no": "T-1",
        "reason": "ไกล่เกลี่ยสำเร็จ",
    }
    reopened = CaseReopened(actor="o", reason="ผู้ร้อง นายสมชาย แจ้งว่า")
    assert decisions.params_of(envelope(reopened), "T-1") == {"tracking_no": "T-1"}
