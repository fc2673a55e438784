"""The guided conversation, one LINE user at a time: a pure state machine.

idle --(any message, or a new follower)--> story --(what happened)--> category
--(a category, by quick reply)--> district --(a district by name or a location)-->
name --(a name, or "ไม่ประสงค์ออกนาม")--> confirm --("ยืนยัน")--> filed, back to idle.
"ยกเลิก" at any step goes back to idle.  A named complainant is told of progress on LINE
(consent given by naming oneself here; the userId goes only into intake's sealed store).

``step`` decides what to say and whether to file; the worker files and then says the
tracking number (``after_filing``).  The confirming message's id becomes the complaint's
``channel_ref``: LINE's redeliveries of it never file twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from services.intake.line.domain import texts
from services.intake.line.domain.places import describe, district_at, districts_named
from shared.codes import CATEGORY_LABELS, CategoryCode
from shared.text import text_problem

STORY_MIN = 10
STORY_MAX = 5000  # LINE's own limit of a text message
SUBJECT_MAX = 80
NAME_MIN, NAME_MAX = 2, 200


class Step(StrEnum):
    idle = "idle"
    story = "story"
    category = "category"
    district = "district"
    name = "name"
    confirm = "confirm"


@dataclass(frozen=True, slots=True)
class Draft:
    """What the citizen said so far (may hold personal data: stored only sealed)."""

    subject: str | None = None
    description: str | None = None
    category: str | None = None
    district_code: str | None = None
    choices: tuple[str, ...] = ()  # the district codes offered by quick reply
    name: str | None = None  # None: anonymous

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "description": self.description,
            "category": self.category,
            "district_code": self.district_code,
            "choices": list(self.choices),
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        return cls(
            subject=data.get("subject"),
            description=data.get("description"),
            category=data.get("category"),
            district_code=data.get("district_code"),
            choices=tuple(data.get("choices") or ()),
            name=data.get("name"),
        )


@dataclass(frozen=True, slots=True)
class State:
    step: Step = Step.idle
    draft: Draft = field(default_factory=Draft)


# -- what the citizen did ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Location:
    address: str
    message_id: str


@dataclass(frozen=True, slots=True)
class Followed:
    """Added the account as a friend (or unblocked it)."""


@dataclass(frozen=True, slots=True)
class OtherMessage:
    """A sticker, an image, a file...: nothing the conversation can use."""


Said = Text | Location | Followed | OtherMessage


# -- what we answer ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quick:
    """A quick reply button: sends ``text`` back, or asks for a location when None."""

    label: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    quick: tuple[Quick, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "quick": [[q.label, q.text] for q in self.quick]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(data["text"], tuple(Quick(label, text) for label, text in data["quick"]))


@dataclass(frozen=True, slots=True)
class Filing:
    draft: Draft
    channel_ref: str


@dataclass(frozen=True, slots=True)
class Outcome:
    state: State
    replies: tuple[Reply, ...]
    filing: Filing | None = None


CANCEL_QUICK = Quick(texts.CANCEL, texts.CANCEL)
_CATEGORY_BY_TEXT: dict[str, CategoryCode] = {
    **{code.value: code for code in CategoryCode},
    **{th: code for code, (th, _) in CATEGORY_LABELS.items()},
    **{texts.label(th): code for code, (th, _) in CATEGORY_LABELS.items()},
}


def step(state: State, said: Said) -> Outcome:
    """The next state and what to answer to ``said`` at ``state``."""
    if isinstance(said, Text) and said.text.strip() == texts.CANCEL:
        return Outcome(State(), (Reply(texts.CANCELLED),))
    if isinstance(said, Followed) or state.step is Step.idle:
        return Outcome(State(Step.story), (Reply(texts.GREETING, (CANCEL_QUICK,)),))
    if state.step is Step.district and isinstance(said, Location):
        return _district_at(state, said.address)
    if not isinstance(said, Text):
        again = _prompt(state)
        return Outcome(state, (Reply(texts.TEXT_ONLY), *again))
    text = said.text.strip()
    if state.step is Step.story:
        return _story(state, text)
    if state.step is Step.category:
        return _category(state, text)
    if state.step is Step.district:
        return _district(state, text)
    if state.step is Step.name:
        return _name(state, text)
    if text == texts.CONFIRM:
        return Outcome(State(), (), Filing(state.draft, said.message_id))
    return Outcome(state, _prompt(state))


def after_filing(tracking_no: str) -> tuple[Reply, ...]:
    return (Reply(texts.filed(tracking_no)),)


def not_filed(state: State) -> Outcome:
    """The filing was refused: stay at the confirmation, say so."""
    return Outcome(state, (Reply(texts.NOT_FILED, _confirm_quick()),))


def _story(state: State, text: str) -> Outcome:
    if len(text) < STORY_MIN:
        return Outcome(state, (Reply(texts.STORY_TOO_SHORT, (CANCEL_QUICK,)),))
    if len(text) > STORY_MAX or text_problem(text) is not None:
        return Outcome(state, (Reply(texts.STORY_UNREADABLE, (CANCEL_QUICK,)),))
    first_line = text.splitlines()[0].strip()
    subject = first_line if len(first_line) <= SUBJECT_MAX else first_line[: SUBJECT_MAX - 1] + "…"
    draft = replace(state.draft, subject=subject, description=text)
    new = State(Step.category, draft)
    return Outcome(new, _prompt(new))


def _category(state: State, text: str) -> Outcome:
    code = _CATEGORY_BY_TEXT.get(text)
    if code is None and len(text) >= 3:  # typed, not tapped: part of one label will do
        found = {c for c, (th, _) in CATEGORY_LABELS.items() if text in th}
        code = found.pop() if len(found) == 1 else None
    if code is None:
        return Outcome(state, _prompt(state))
    new = State(Step.district, replace(state.draft, category=code.value))
    return Outcome(new, _prompt(new))


def _district(state: State, text: str) -> Outcome:
    chosen = [c for c in state.draft.choices if text == describe(c)]
    found = [chosen[0]] if chosen else [d.code for d in districts_named(text)]
    if len(found) == 1:
        return _placed(state, found[0])
    if not found:
        return Outcome(state, (Reply(texts.DISTRICT_UNKNOWN, _district_quick()),))
    if len(found) > texts.QUICK_MAX - 1:  # one button stays for "ยกเลิก"
        return Outcome(state, (Reply(texts.DISTRICT_TOO_MANY, _district_quick()),))
    offered = State(Step.district, replace(state.draft, choices=tuple(found)))
    buttons = tuple(Quick(texts.label(describe(c)), describe(c)) for c in found)
    return Outcome(offered, (Reply(texts.DISTRICT_MANY, (*buttons, CANCEL_QUICK)),))


def _district_at(state: State, address: str) -> Outcome:
    d = district_at(address)
    if d is None:
        return Outcome(state, (Reply(texts.LOCATION_UNPLACED, _district_quick()),))
    return _placed(state, d.code)


def _placed(state: State, district_code: str) -> Outcome:
    new = State(Step.name, replace(state.draft, district_code=district_code, choices=()))
    return Outcome(new, _prompt(new))


def _name(state: State, text: str) -> Outcome:
    if text == texts.ANONYMOUS:
        new = State(Step.confirm, replace(state.draft, name=None))
        return Outcome(new, _prompt(new))
    name = " ".join(text.split())
    if not NAME_MIN <= len(name) <= NAME_MAX or text_problem(name) is not None:
        return Outcome(state, (Reply(texts.NAME_UNUSABLE, _name_quick()),))
    new = State(Step.confirm, replace(state.draft, name=name))
    return Outcome(new, _prompt(new))


def _prompt(state: State) -> tuple[Reply, ...]:
    """What to ask at ``state`` (asked again after an answer that does not fit)."""
    d = state.draft
    if state.step is Step.story:
        return (Reply(texts.GREETING, (CANCEL_QUICK,)),)
    if state.step is Step.category:
        buttons = tuple(
            Quick(texts.label(th), th) for th, _ in (CATEGORY_LABELS[c] for c in CategoryCode)
        )
        return (Reply(texts.ASK_CATEGORY, buttons[: texts.QUICK_MAX]),)
    if state.step is Step.district:
        return (Reply(texts.ASK_DISTRICT, _district_quick()),)
    if state.step is Step.name:
        return (Reply(texts.ASK_NAME, _name_quick()),)
    category = CATEGORY_LABELS[CategoryCode(d.category)][0] if d.category else ""
    place = describe(d.district_code) if d.district_code else ""
    return (
        Reply(texts.summary(d.subject or "", category, place, d.name)),
        Reply(texts.ASK_CONFIRM, _confirm_quick()),
    )


def _district_quick() -> tuple[Quick, ...]:
    return (Quick(texts.SEND_LOCATION, None), CANCEL_QUICK)


def _name_quick() -> tuple[Quick, ...]:
    return (Quick(texts.ANONYMOUS, texts.ANONYMOUS), CANCEL_QUICK)


def _confirm_quick() -> tuple[Quick, ...]:
    return (Quick(texts.CONFIRM, texts.CONFIRM), CANCEL_QUICK)
