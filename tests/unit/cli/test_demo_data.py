import datetime as dt
from collections import Counter

from stdnum.th import pin

from damrong.cli.demo_data import all_districts, national_id, plans

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def test_every_district_is_covered_once_n_reaches_928() -> None:
    ps = plans(928, NOW, seed=1)
    assert {p.request["district_code"] for p in ps} == set(all_districts())
    assert len(all_districts()) == 928


def test_received_dates_span_fiscal_years_2568_to_2570_and_are_never_future() -> None:
    ps = plans(3000, NOW, seed=2)
    received = [dt.datetime.fromisoformat(p.request["received_at"]) for p in ps]
    assert max(received) < NOW
    assert min(received) >= dt.datetime(2024, 9, 30, 17, tzinfo=dt.UTC)
    assert any(r < dt.datetime(2025, 9, 30, 17, tzinfo=dt.UTC) for r in received)
    assert any(r >= dt.datetime(2026, 9, 30, 17, tzinfo=dt.UTC) for r in received)


def test_about_three_quarters_end_closed_with_ordered_past_steps() -> None:
    ps = plans(4000, NOW, seed=3)
    closed = sum(1 for p in ps if p.steps and p.steps[-1].action == "close")
    assert 0.65 < closed / len(ps) < 0.85
    for p in ps:
        times = [dt.datetime.fromisoformat(p.request["received_at"])] + [s.at for s in p.steps]
        assert times == sorted(times)
        assert all(t < NOW for t in times)


def test_channels_and_categories_are_mixed() -> None:
    ps = plans(2000, NOW, seed=4)
    assert len(Counter(p.request["channel"] for p in ps)) >= 12
    assert len(Counter(p.request["category"] for p in ps)) == 13


def test_generated_national_ids_pass_the_checksum() -> None:
    import random

    rng = random.Random(5)
    assert all(pin.is_valid(national_id(rng)) for _ in range(500))
