"""The worklists' pure rules: filters read from the URL, links that keep them, the bulk
close form and what each case's outcome means."""

from __future__ import annotations

import uuid

from services.console.domain.worklists import (
    PAGE_SIZE,
    Query,
    close_body,
    outcomes,
    pages,
    read_close,
    read_query,
    still_selected,
)


def test_valid_filters_become_status_parameters() -> None:
    query, errors = read_query(
        "backlog",
        {
            "district": "1001",
            "category": "land",
            "channel": "web",
            "sort": "-due_date",
            "page": "3",
        },
    )
    assert errors == {}
    params = query.params()
    assert params["district_code"] == "1001"
    assert params["category"] == "land"
    assert params["channel"] == "web"
    assert params["sort"] == "-due_date"
    assert params["offset"] == 2 * PAGE_SIZE


def test_bad_filters_are_named_and_left_out() -> None:
    query, errors = read_query(
        "stale", {"district": "10x", "category": "nope", "sort": "drop", "page": "-2"}
    )
    assert set(errors) == {"district", "category", "sort", "page"}
    assert errors["district"] == "worklists.error.district"
    assert (query.district, query.category, query.sort, query.page) == (None, None, None, 1)


def test_supervisors_link_with_a_district_is_understood() -> None:
    query, errors = read_query("backlog", {"district": "5001"})
    assert errors == {}
    assert query.district == "5001"
    assert query.link() == "/worklists/backlog?district=5001"


def test_a_new_order_keeps_filters_and_starts_at_page_one() -> None:
    query = Query(kind="overdue", district="1001", sort="due_date", page=4)
    assert query.toggle("due_date") == "/worklists/overdue?district=1001&sort=-due_date"
    assert query.sorted_by("due_date") == "ascending"
    assert query.sorted_by("category") is None
    assert query.link(page=5).endswith("page=5")


def test_pages_rounds_up_and_is_at_least_one() -> None:
    assert pages(0) == 1
    assert pages(PAGE_SIZE) == 1
    assert pages(PAGE_SIZE + 1) == 2


def test_close_form_needs_cases_and_a_known_reason() -> None:
    _, errors = read_close({"reason": ["bogus"]})
    assert errors == {"cases": "worklists.error.none_selected", "reason": "worklists.error.reason"}
    _, errors = read_close({"case": ["not-a-uuid"], "reason": ["resolved"]})
    assert errors == {"cases": "worklists.error.cases"}


def test_close_body_sends_each_case_once_with_the_reason() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    request, errors = read_close({"case": [str(a), str(b), str(a)], "reason": ["duplicate"]})
    assert errors == {}
    items = close_body(request)["items"]
    assert [i["complaint_id"] for i in items] == [str(a), str(b)]
    assert {i["action"] for i in items} == {"close"}
    assert {i["reason"] for i in items} == {"duplicate"}


def test_failed_outcomes_stay_selected() -> None:
    answer = {
        "results": [
            {"complaint_id": "a", "ok": True},
            {"complaint_id": "b", "ok": False, "error": {"status": 409, "detail": "changed"}},
        ]
    }
    results = outcomes(answer)
    assert [r.ok for r in results] == [True, False]
    assert results[1].status == 409 and results[1].detail == "changed"
    assert still_selected(results) == frozenset({"b"})
