"""The KPI API's response documents (separate from the storage rows)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Head(BaseModel):
    """The question a document answers: its filters and its two time axes."""

    fiscal_year: int | None
    province_code: str | None
    district_code: str | None
    channel: str | None
    category: str | None
    as_of: dt.date | None
    known_at: dt.datetime | None


class Counts(BaseModel):
    received: int
    closed: int
    open: int


class Summary(Head):
    received: int
    closed: int
    open: int
    closure_rate: float | None
    closed_within_sla: int
    sla_rate: float | None
    median_days_to_close: float | None
    p90_days_to_close: float | None
    by_channel: dict[str, Counts]
    by_category: dict[str, Counts]


class OriginOpen(BaseModel):
    origin_fiscal_year: int
    open: int


class Backlog(Head):
    open: int
    by_fiscal_year: list[OriginOpen]


class CarryRow(BaseModel):
    origin_fiscal_year: int
    open_at_start: int
    closed_during: int
    still_open: int


class CarryOver(Head):
    open_at_start: int
    closed_during: int
    rows: list[CarryRow]


class Bucket(BaseModel):
    bucket: str
    open: int


class Aging(Head):
    reference_date: dt.date
    open: int
    buckets: list[Bucket]


class DistrictContinuity(BaseModel):
    province_code: str
    district_code: str
    last_record_date: dt.date
    days_since_last_record: int
    weeks_with_records: int
    weeks_elapsed: int
    silent: bool


class Recording(Head):
    reference_date: dt.date
    filings: int
    median_lag_days: float | None
    within_1_day: int
    share_within_1_day: float | None
    within_7_days: int
    share_within_7_days: float | None
    continuity_fiscal_year: int
    districts: list[DistrictContinuity]
    silent_districts: list[str]


class MonthRow(BaseModel):
    month: str
    carried_in: int
    received: int
    closed: int
    reopened: int
    remaining: int
    cumulative_received: int
    cumulative_closed: int


class Monthly(Head):
    months: list[MonthRow]


class DistrictRow(BaseModel):
    province_code: str
    district_code: str
    received: int
    closed: int
    open: int
    closure_rate: float | None
    closure_rate_lower_bound: float | None
    backlog: int
    rank_backlog: int
    rank_closure: int


class Districts(Head):
    districts: list[DistrictRow]
