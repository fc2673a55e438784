"""The LINE conversation's pure rules: every step, cancel, retries, LINE's limits."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.domain.validation import parse_complaint
from services.intake.line.domain import texts
from services.intake.line.domain.complaint import complaint_body
from services.intake.line.domain.conversation import (
    STORY_MAX,
    Draft,
    Filing,
    Followed,
    Location,
    OtherMessage,
    Outcome,
    Reply,
    State,
    Step,
    Text,
    not_filed,
    step,
)
from services.intake.line.domain.places import describe, district_at, districts_named
from services.intake.line.usecases import CONSENT_ACCEPTED
from shared.codes import CATEGORY_LABELS, CategoryCode

STORY = "ไฟฟ้าส่องสว่างในซอยดับมาสองสัปดาห์ กลางคืนมืดมาก\nมีคนถูกวิ่งราวกระเป๋าแล้ว"
NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
USER = "U" + "0123456789abcdef" * 2


def _said(state: State, *messages: str) -> Outcome:
    outcome = Outcome(state, ())
    for i, text in enumerate(messages):
        outcome = step(outcome.state, Text(text, f"m{i}"))
    return outcome


def test_the_happy_path_ends_in_a_filing_with_the_confirming_message_id() -> None:
    label = CATEGORY_LABELS[CategoryCode.environment][0]
    at_name = _said(State(), "สวัสดี", STORY, label, "สันทราย")
    assert at_name.state.step is Step.name and at_name.replies[0].text == texts.ASK_NAME
    at_confirm = step(at_name.state, Text("  สมชาย   ใจดี ", "n"))
    assert at_confirm.state.step is Step.confirm
    summary, ask = at_confirm.replies
    assert "อำเภอสันทราย จังหวัดเชียงใหม่" in summary.text and label in summary.text
    assert "ผู้ร้อง: สมชาย ใจดี" in summary.text
    assert [q.text for q in ask.quick] == [texts.CONFIRM, texts.CANCEL]
    done = step(at_confirm.state, Text(texts.CONFIRM, "confirm-id"))
    assert done.state == State() and done.filing is not None
    assert done.filing.channel_ref == "confirm-id"
    draft = done.filing.draft
    assert draft.subject == STORY.splitlines()[0] and draft.description == STORY
    assert (draft.category, draft.district_code) == ("environment", "5014")
    assert draft.name == "สมชาย ใจดี"
    # What it files passes intake's own validation.
    body = complaint_body(done.filing, NOW - dt.timedelta(minutes=1))
    cmd = parse_complaint(body, NOW)
    assert cmd.channel.value == "line" and cmd.channel_ref == "confirm-id"
    assert cmd.complainant.name == "สมชาย ใจดี" and cmd.province_code == "50"
    assert "notify" not in body["complainant"]  # no LINE user: no consent to be told
    consenting = complaint_body(done.filing, NOW, USER)["complainant"]
    assert consenting["notify"] == ["line"] and consenting["line_user_id"] == USER
    if CONSENT_ACCEPTED:
        assert parse_complaint(complaint_body(done.filing, NOW, USER), NOW).complainant.name


def test_an_anonymous_complainant_is_filed_without_consent() -> None:
    at_name = State(
        Step.name, Draft(subject="s", description=STORY, category="land", district_code="1004")
    )
    anonymous = step(at_name, Text(texts.ANONYMOUS, "a"))
    assert anonymous.state.step is Step.confirm and anonymous.state.draft.name is None
    assert f"ผู้ร้อง: {texts.ANONYMOUS}" in anonymous.replies[0].text
    done = step(anonymous.state, Text(texts.CONFIRM, "c"))
    assert done.filing is not None
    body = complaint_body(done.filing, NOW, USER)
    assert body["complainant"] == {"anonymous": True}
    assert parse_complaint(body, NOW).complainant.anonymous
    for unusable in ("ก", "ชื่อ\x07", "ก" * 201):
        again = step(at_name, Text(unusable, "u"))
        assert again.state == at_name and again.replies[0].text == texts.NAME_UNUSABLE


@pytest.mark.parametrize("step_", list(Step))
def test_cancel_works_at_every_step(step_: Step) -> None:
    state = State(step_, Draft(subject="s", description=STORY, category="land"))
    outcome = step(state, Text(" ยกเลิก ", "x"))
    assert outcome.state == State() and outcome.filing is None
    assert [r.text for r in outcome.replies] == [texts.CANCELLED]


def test_a_new_friend_or_any_first_message_is_greeted() -> None:
    for said in (Followed(), Text("ยืนยัน", "1"), OtherMessage(), Location("x", "2")):
        outcome = step(State(), said)
        assert outcome.state.step is Step.story and outcome.filing is None
        assert outcome.replies[0].text == texts.GREETING


def test_a_story_too_short_or_unstorable_is_asked_again() -> None:
    at_story = State(Step.story)
    for text, expected in (
        ("ช่วยด้วย", texts.STORY_TOO_SHORT),
        ("มีปัญหา\x00ในซอยบ้านผม", texts.STORY_UNREADABLE),
        ("ก" * (STORY_MAX + 1), texts.STORY_UNREADABLE),
    ):
        outcome = step(at_story, Text(text, "1"))
        assert outcome.state == at_story and outcome.replies[0].text == expected


def test_a_long_first_line_makes_a_shortened_subject() -> None:
    outcome = _said(State(Step.story), "ก" * 200)
    assert outcome.state.draft.subject is not None
    assert len(outcome.state.draft.subject) == 80 and outcome.state.draft.description == "ก" * 200


def test_categories_by_quick_reply_fit_lines_limits_and_all_are_understood() -> None:
    at_category = _said(State(Step.story), STORY)
    [ask] = at_category.replies
    assert len(ask.quick) == len(CategoryCode) <= texts.QUICK_MAX
    assert all(len(q.label) <= texts.LABEL_MAX for q in ask.quick)
    for quick, code in zip(ask.quick, CategoryCode, strict=True):
        assert quick.text is not None
        chosen = step(at_category.state, Text(quick.text, "c"))
        assert chosen.state.draft.category == code.value
    typed = step(at_category.state, Text("ที่ดิน", "c"))  # part of one label only
    assert typed.state.draft.category == "land"
    for unclear in ("หนี้", "/"):  # two labels, or too short to mean one
        assert step(at_category.state, Text(unclear, "c")).state == at_category.state
    wrong = step(at_category.state, Text("ไม่รู้", "c"))
    assert wrong.state == at_category.state and wrong.replies == at_category.replies


def test_districts_by_name_one_several_too_many_none() -> None:
    at_district = State(Step.district, Draft(subject="s", description=STORY, category="land"))
    named = step(at_district, Text("เมือง เชียงใหม่", "d"))
    assert named.state.step is Step.name and named.state.draft.district_code == "5001"
    several = step(at_district, Text("กันทร", "d"))  # three districts start so
    assert several.state.step is Step.district and several.replies[0].text == texts.DISTRICT_MANY
    *buttons, cancel = several.replies[0].quick
    assert len(buttons) == 3 and cancel.text == texts.CANCEL
    assert buttons[1].text is not None
    chosen = step(several.state, Text(buttons[1].text, "e"))  # the button's text comes back
    assert chosen.state.step is Step.name
    assert chosen.state.draft.district_code == several.state.draft.choices[1]
    assert buttons[1].text == describe(several.state.draft.choices[1])
    assert step(at_district, Text("เมือง", "d")).replies[0].text == texts.DISTRICT_TOO_MANY
    assert step(at_district, Text("ฮอกวอตส์", "d")).replies[0].text == texts.DISTRICT_UNKNOWN
    sticker = step(at_district, OtherMessage())
    assert sticker.state == at_district and sticker.replies[0].text == texts.TEXT_ONLY


def test_a_district_is_found_by_a_subdistrict_name_too() -> None:
    found = districts_named("สุริยวงศ์")  # a khwaeng of Bang Rak, no district of that name
    assert [d.code for d in found] == ["1004"]
    assert districts_named("") == [] and districts_named("   ") == []


def test_a_location_is_placed_from_its_address_or_asked_by_name() -> None:
    at_district = State(Step.district, Draft(subject="s", description=STORY, category="land"))
    bangkok = "1 ถนนสีลม แขวงสุริยวงศ์ เขตบางรัก กรุงเทพมหานคร 10500"
    assert step(at_district, Location(bangkok, "l")).state.draft.district_code == "1004"
    chiang_mai = "ตำบลสันทรายหลวง อำเภอสันทราย เชียงใหม่ 50210"
    assert district_at(chiang_mai) is not None
    assert district_at("Somewhere") is None and district_at("") is None
    unknown = step(at_district, Location("Pacific Ocean", "l"))
    assert unknown.state == at_district and unknown.replies[0].text == texts.LOCATION_UNPLACED
    assert unknown.replies[0].quick[0].text is None  # the "send a location" button


def test_confirmation_waits_for_the_word_and_a_refused_filing_stays() -> None:
    draft = Draft(subject="s", description=STORY, category="land", district_code="1004")
    at_confirm = State(Step.confirm, draft)
    other = step(at_confirm, Text("โอเค", "1"))
    assert other.state == at_confirm and other.filing is None
    refused = not_filed(at_confirm)
    assert refused.state == at_confirm and refused.replies[0].text == texts.NOT_FILED


def test_drafts_and_replies_round_trip_through_their_stored_form() -> None:
    draft = Draft("s", "d", "land", "1004", ("1004", "5001"), "สมหญิง")
    assert Draft.from_dict(draft.as_dict()) == draft
    reply = _said(State(Step.story), STORY).replies[0]
    assert Reply.from_dict(reply.as_dict()) == reply
    assert describe("1004") == "เขตบางรัก กรุงเทพมหานคร"
    filing = Filing(draft, "m")
    assert complaint_body(filing, NOW)["complainant"] == {"anonymous": False, "name": "สมหญิง"}
