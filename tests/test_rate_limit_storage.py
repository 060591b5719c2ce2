"""The database storage for `limits` (wx_member/ratelimit_storage.py), driven through limits'
own moving-window strategy as Flask-Limiter drives it: shared by separate engines on one
database, exact under concurrent hits, moving (not fixed) windows, pruned by housekeeping.
Both backends; time is a clock the test moves."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select

from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.models import RateLimitCounter
from wx_member.ratelimit_storage import DatabaseStorage, row_key
from wx_member.platform import housekeeping

T0 = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC


class Clock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engines(db_url):
    """Two engines on one migrated database: two processes, or two hosts."""
    migrate.upgrade(db_url)
    pair = [make_engine(db_url), make_engine(db_url)]
    yield pair
    for engine in pair:
        engine.dispose()


def limiters(engines, clock):
    return [MovingWindowRateLimiter(DatabaseStorage(e, clock=clock)) for e in engines]


def rows(engine) -> list[RateLimitCounter]:
    with make_session_factory(engine)() as s, s.read():
        return list(s.scalars(select(RateLimitCounter)))


def test_two_engines_share_one_limit_and_the_window_moves(engines):
    clock = Clock()
    a, b = limiters(engines, clock)
    login = parse("3/minute")
    assert a.hit(login, "10.0.0.1")
    clock.now += 20
    assert b.hit(login, "10.0.0.1")
    clock.now += 20
    assert a.hit(login, "10.0.0.1")
    assert not b.hit(login, "10.0.0.1") and not a.hit(login, "10.0.0.1")
    assert b.hit(login, "10.0.0.2")  # another client has its own count
    stats = a.get_window_stats(login, "10.0.0.1")
    assert (stats.remaining, stats.reset_time) == (0, T0 + 60)
    # A moving window: the first hit leaves it after a minute, the others still count.
    clock.now = T0 + 60.5
    assert b.hit(login, "10.0.0.1")
    assert not a.hit(login, "10.0.0.1")
    assert not a.test(login, "10.0.0.1")
    # Over a minute after the last hit, all of them have left.
    clock.now += 61
    assert [a.hit(login, "10.0.0.1") for _ in range(4)] == [True, True, True, False]


def test_concurrent_hits_on_two_engines_count_exactly(engines):
    clock = Clock()
    storages = [DatabaseStorage(e, clock=clock) for e in engines]
    limit = parse("25/hour")
    start = threading.Barrier(8)

    def hit(i: int) -> int:
        strategy = MovingWindowRateLimiter(storages[i % 2])
        start.wait()  # all first hits at once: they race to create the row
        return sum(strategy.hit(limit, "member:7") for _ in range(10))

    with ThreadPoolExecutor(8) as pool:
        allowed = sum(pool.map(hit, range(8)))
    assert allowed == 25
    (row,) = rows(engines[0])
    assert len(row.hits.split()) == 25
    assert MovingWindowRateLimiter(storages[1]).get_window_stats(limit, "member:7").remaining == 0


def test_a_refused_hit_is_not_recorded_and_clear_forgets(engines):
    clock = Clock()
    storage = DatabaseStorage(engines[0], clock=clock)
    strategy = MovingWindowRateLimiter(storage)
    limit = parse("2/minute")
    assert strategy.hit(limit, "k") and strategy.hit(limit, "k")
    clock.now += 30
    assert not strategy.hit(limit, "k")
    clock.now += 31  # both earlier hits leave; the refused one never counted
    assert strategy.hit(limit, "k") and strategy.hit(limit, "k")
    assert not strategy.hit(limit, "k", cost=1)
    strategy.clear(limit, "k")
    assert strategy.hit(limit, "k")
    assert not strategy.hit(limit, "k", cost=3)  # more than the limit at once
    assert storage.check()
    assert storage.reset() == 1 and rows(engines[0]) == []


def test_long_keys_are_shortened_by_digest_and_stay_apart(engines):
    strategy = MovingWindowRateLimiter(DatabaseStorage(engines[0], clock=Clock()))
    one, two = "x" * 300 + "1", "x" * 300 + "2"
    assert len(row_key(one)) == 255 and row_key(one) != row_key(two)
    limit = parse("1/minute")
    assert strategy.hit(limit, one) and strategy.hit(limit, two)
    assert not strategy.hit(limit, one)


def test_a_limit_larger_than_a_row_holds_asks_for_redis(engines):
    strategy = MovingWindowRateLimiter(DatabaseStorage(engines[0]))
    with pytest.raises(ValueError, match="REDIS_URL"):
        strategy.hit(parse("5000/hour"), "k")


def test_housekeeping_prunes_rows_whose_hits_have_all_left(engines):
    clock = Clock()
    strategy = MovingWindowRateLimiter(DatabaseStorage(engines[0], clock=clock))
    minute, hour = parse("5/minute"), parse("5/hour")
    strategy.hit(minute, "old")
    strategy.hit(minute, "renewed")
    clock.now += 50
    strategy.hit(minute, "renewed")  # counts until T0 + 110
    strategy.hit(hour, "hourly")

    def prune(at: float) -> int:
        with make_session_factory(engines[1])() as s:
            return housekeeping.prune_rate_limit_counters(s, now=utc(at))

    assert prune(T0 + 61) == 1
    assert sorted(r.key for r in rows(engines[0])) == [hour.key_for("hourly"),
                                                       minute.key_for("renewed")]
    assert prune(T0 + 111) == 1
    assert prune(T0 + 50 + 3599) == 0  # never a row whose hits still count
    assert [r.key for r in rows(engines[0])] == [hour.key_for("hourly")]
    assert prune(T0 + 50 + 3601) == 1


def utc(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc).replace(tzinfo=None)
