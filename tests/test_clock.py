"""wx_member.clock: naive UTC as stored, local days in a zone that is always passed.

Shanghai has no daylight saving (UTC+8 all year); Berlin changes its clocks, so some of
its days are 23 or 25 hours long (2024: CET → CEST on 31 March at 02:00, back on
27 October at 03:00).
"""
from __future__ import annotations

import inspect
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wx_member import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
TICK = timedelta(microseconds=1)


def test_utcnow_is_naive_utc():
    now = clock.utcnow()
    assert now.tzinfo is None
    assert abs(now.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_no_function_hides_a_default_zone():
    for name, fn in inspect.getmembers(clock, inspect.isfunction):
        if fn.__module__ == clock.__name__:
            params = inspect.signature(fn).parameters.values()
            assert all(p.default is inspect.Parameter.empty for p in params), name


def test_shanghai_local_day_turns_at_1600_utc():
    assert clock.local_day(datetime(2024, 1, 1, 15, 59, 59, 999999), SHANGHAI) == date(2024, 1, 1)
    assert clock.local_day(datetime(2024, 1, 1, 16, 0), SHANGHAI) == date(2024, 1, 2)
    assert clock.local_day(datetime(2023, 12, 31, 16, 0), SHANGHAI) == date(2024, 1, 1)


def test_shanghai_day_bounds_are_24_hours_from_local_midnight():
    start, end = clock.day_bounds(date(2024, 1, 2), SHANGHAI)
    assert (start, end) == (datetime(2024, 1, 1, 16, 0), datetime(2024, 1, 2, 16, 0))
    assert start.tzinfo is None and end.tzinfo is None
    assert clock.day_start(date(2024, 1, 2), SHANGHAI) == start


@pytest.mark.parametrize("day, start, end, hours", [
    (date(2024, 3, 30), datetime(2024, 3, 29, 23, 0), datetime(2024, 3, 30, 23, 0), 24),
    (date(2024, 3, 31), datetime(2024, 3, 30, 23, 0), datetime(2024, 3, 31, 22, 0), 23),
    (date(2024, 4, 1), datetime(2024, 3, 31, 22, 0), datetime(2024, 4, 1, 22, 0), 24),
    (date(2024, 10, 27), datetime(2024, 10, 26, 22, 0), datetime(2024, 10, 27, 23, 0), 25),
    (date(2024, 10, 28), datetime(2024, 10, 27, 23, 0), datetime(2024, 10, 28, 23, 0), 24),
])
def test_berlin_day_bounds_across_the_clock_changes(day, start, end, hours):
    assert clock.day_bounds(day, BERLIN) == (start, end)
    assert end - start == timedelta(hours=hours)


@pytest.mark.parametrize("tz", [SHANGHAI, BERLIN], ids=["shanghai", "berlin"])
def test_local_day_of_each_bound_is_the_day_itself(tz):
    """Midnight belongs to the day it starts; the instant before the end to the day."""
    day = date(2024, 3, 25)
    while day <= date(2024, 11, 3):  # both of Berlin's changes
        start, end = clock.day_bounds(day, tz)
        assert clock.local_day(start, tz) == day
        assert clock.local_day(start - TICK, tz) == day - timedelta(days=1)
        assert clock.local_day(end - TICK, tz) == day
        assert clock.local_day(end, tz) == day + timedelta(days=1)
        assert clock.day_bounds(day + timedelta(days=1), tz)[0] == end  # days tile the line
        day += timedelta(days=1)


def test_berlin_local_day_at_midnight_in_winter_and_summer():
    assert clock.local_day(datetime(2024, 1, 15, 22, 59, 59), BERLIN) == date(2024, 1, 15)
    assert clock.local_day(datetime(2024, 1, 15, 23, 0), BERLIN) == date(2024, 1, 16)
    assert clock.local_day(datetime(2024, 7, 15, 21, 59, 59), BERLIN) == date(2024, 7, 15)
    assert clock.local_day(datetime(2024, 7, 15, 22, 0), BERLIN) == date(2024, 7, 16)


def test_days_bounds_span_first_to_last_inclusive():
    first, last = date(2024, 3, 30), date(2024, 4, 1)
    assert clock.days_bounds(first, last, BERLIN) == (clock.day_bounds(first, BERLIN)[0],
                                                      clock.day_bounds(last, BERLIN)[1])
    assert clock.days_bounds(first, first, SHANGHAI) == clock.day_bounds(first, SHANGHAI)


def test_local_wall_time_and_back():
    assert clock.local_to_utc(datetime(2024, 7, 1, 20, 0), BERLIN) == datetime(2024, 7, 1, 18, 0)
    assert clock.local_to_utc(datetime(2024, 1, 1, 20, 0), BERLIN) == datetime(2024, 1, 1, 19, 0)
    assert clock.local_to_utc(datetime(2024, 1, 1, 8, 0), SHANGHAI) == datetime(2024, 1, 1, 0, 0)
    local = clock.to_local(datetime(2024, 7, 1, 18, 0), BERLIN)
    assert (local.hour, local.utcoffset()) == (20, timedelta(hours=2))
    assert clock.to_utc(local) == datetime(2024, 7, 1, 18, 0)


def test_local_now_is_now_in_the_given_zone():
    for tz in (SHANGHAI, BERLIN):
        now = clock.local_now(tz)
        assert now.tzinfo is tz
        assert abs(clock.to_utc(now) - clock.utcnow()) < timedelta(seconds=5)


def test_unix_time_round_trip():
    at = clock.from_timestamp(1_700_000_000)
    assert at == datetime(2023, 11, 14, 22, 13, 20) and at.tzinfo is None
    assert clock.timestamp(at) == 1_700_000_000
    assert clock.with_zone(at) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_a_points_lot_still_ends_at_2359_59_local():
    """points_expiry's end of a local day, now written with the clock, is unchanged."""
    from wx_member.loyalty.points_expiry import day_end_utc

    assert day_end_utc(date(2024, 10, 27), BERLIN) == datetime(2024, 10, 27, 22, 59, 59)
    assert day_end_utc(date(2024, 3, 31), BERLIN) == datetime(2024, 3, 31, 21, 59, 59)
    assert day_end_utc(date(2024, 1, 1), SHANGHAI) == datetime(2024, 1, 1, 15, 59, 59)
