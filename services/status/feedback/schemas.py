"""The feedback endpoints' request and response documents."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from shared.codes import ClosureReason
from shared.feedback_links import MAX_TOKEN_CHARS


def _integral(value: Any) -> Any:
    # JSON's 4.0 is the integer 4, as JSON Schema has it; 4.5 and "4" stay refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Score = Annotated[int, Strict(), Interval(ge=1, le=5), BeforeValidator(_integral)]


class FeedbackIn(BaseModel):
    """The complainant's answer: the link's token is the credential, there is no other."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)
    score: Score | None = None
    not_solved: bool = Field(default=False, strict=True)


class FeedbackOut(BaseModel):
    """What a feedback link stands for (nothing personal: the tracking number and the
    closure), and what its closure already has."""

    tracking_no: str
    closure_reason: ClosureReason | None
    closed_at: dt.datetime | None
    expires_at: dt.datetime
    rated: bool
    reopen_requested: bool


class FeedbackRecorded(BaseModel):
    tracking_no: str
    recorded: list[str]  # the event kinds appended, in order
    version: int  # the case's version after them
    rated: bool
    reopen_requested: bool
