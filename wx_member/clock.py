"""Time, in one place: naive UTC as stored, and the programme's local days.

The database keeps naive UTC datetimes (MySQL's DATETIME has no zone); rules count local
days (a check-in per day, a lot lapsing at the end of a day, a push on the 7th day). Every
conversion between the two goes through here, and the zone is always an argument: a
caller passes `config.tz` or, deep in a use case, `db.programme_tz(session)`; there is no
hidden default.

Day bounds are half-open [start, end) in UTC, each end the next day's start: a day is 23
or 25 hours long where the clocks change, and a range query with `>= start, < end` counts
every instant once. The bottom layer: it imports nothing of the app (models use it).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo

UTC = timezone.utc


def utcnow() -> datetime:
    """Now, naive UTC (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def from_timestamp(seconds: float) -> datetime:
    """A Unix time as naive UTC."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def timestamp(at_utc: datetime) -> float:
    """The Unix time of a naive UTC datetime."""
    return at_utc.replace(tzinfo=UTC).timestamp()


def with_zone(at_utc: datetime) -> datetime:
    """A naive UTC datetime made aware (for output that writes the zone, e.g. JSON "Z")."""
    return at_utc.replace(tzinfo=UTC)


def to_utc(at: datetime) -> datetime:
    """An aware datetime, in any zone, as naive UTC (as stored)."""
    return at.astimezone(UTC).replace(tzinfo=None)


def local_to_utc(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall-clock time in `tz` (an operator's "send at 20:00") as naive UTC."""
    return to_utc(wall.replace(tzinfo=tz))


def to_local(at_utc: datetime, tz: tzinfo) -> datetime:
    """A naive UTC datetime as an aware datetime in `tz`."""
    return at_utc.replace(tzinfo=UTC).astimezone(tz)


def local_now(tz: tzinfo) -> datetime:
    """Now in `tz`, aware."""
    return datetime.now(tz)


def local_day(at_utc: datetime, tz: tzinfo) -> date:
    """The date in `tz` at a naive UTC instant."""
    return to_local(at_utc, tz).date()


def day_start(day: date, tz: tzinfo) -> datetime:
    """Naive UTC of the local midnight that starts `day` in `tz`."""
    return to_utc(datetime.combine(day, time(), tz))


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local `day` in `tz`, naive UTC."""
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def days_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of the local days `first` … `last` (inclusive) in `tz`, naive UTC."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def local_text(at_utc: datetime | str | None, tz: tzinfo, fmt: str) -> str:
    """A stored instant as the wall-clock text people read in `tz`, e.g. fmt
    "%Y-%m-%d %H:%M" (the console's one way to show a time). Takes naive UTC, an aware datetime, or an ISO string as read models
    give it ("…Z" or naive UTC); None or "" is ""."""
    if at_utc is None or at_utc == "":
        return ""
    if isinstance(at_utc, str):
        at_utc = datetime.fromisoformat(at_utc.replace("Z", "+00:00"))
    if at_utc.tzinfo is not None:
        at_utc = to_utc(at_utc)
    return to_local(at_utc, tz).strftime(fmt)
