"""The Thai templates: every message renders, quotes the tracking number, names what it
must (the agency, the closure reason, the satisfaction link) and nothing it must not."""

from __future__ import annotations

import tomllib

import pytest

from services.notify.domain.decisions import TEMPLATES
from services.notify.domain.rendering import Template, UnknownTemplate, parse_templates, render
from services.notify.messages import TEMPLATE_FILE, load_templates

TRACKING = "1001-2569-0000042"
PARAMS = {"tracking_no": TRACKING, "agency": "การประปานครหลวง", "reason": "แก้ไขแล้วเสร็จ"}


def thai(text: str) -> bool:
    return any("\u0e00" <= ch <= "\u0e7f" for ch in text)


@pytest.mark.parametrize("template", sorted(set(TEMPLATES.values())))
def test_every_message_renders_in_thai_with_the_tracking_number(template: str) -> None:
    message = render(load_templates(), template, PARAMS)
    assert TRACKING in message.text and TRACKING in message.subject
    assert thai(message.text) and thai(message.subject)
    assert "$" not in message.text and "$" not in message.subject
    assert message.text.endswith("(ข้อความอัตโนมัติ โปรดอย่าตอบกลับ)")


def test_received_is_the_receipt() -> None:
    text = render(load_templates(), "received", PARAMS).text
    assert "ได้รับเรื่องร้องเรียนของท่านแล้ว" in text


def test_forwarded_names_the_agency_and_closed_the_reason() -> None:
    assert "การประปานครหลวง" in render(load_templates(), "forwarded", PARAMS).text
    closed = render(load_templates(), "closed", PARAMS)
    assert "เหตุผล: แก้ไขแล้วเสร็จ" in closed.text
    assert "http" not in closed.text


def test_closed_with_a_link_carries_it() -> None:
    link = "https://console.example/feedback/abc.def"
    closed = render(load_templates(), "closed", PARAMS, link=link)
    assert closed.template == "closed_link"
    assert link in closed.text and "ประเมินความพึงพอใจ" in closed.text


def test_a_missing_value_or_template_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        render(load_templates(), "forwarded", {"tracking_no": TRACKING})
    with pytest.raises(UnknownTemplate):
        render(load_templates(), "no_such_template", PARAMS)


def test_the_file_parses_and_a_malformed_one_is_refused() -> None:
    doc = tomllib.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    assert set(parse_templates(doc)) >= set(TEMPLATES.values())
    with pytest.raises(ValueError, match="needs a body"):
        parse_templates({"x": {"subject": "s"}})
    with pytest.raises(ValueError, match="subject must be text"):
        parse_templates({"x": {"subject": 1, "body": "b"}})
    assert parse_templates({"x": {"body": "b"}}) == {"x": Template("", "b")}
