"""Who each channel can reach, the channel chosen per member, and the forecast.

A kind lists its channels in order (pushes/definitions.py); for each member the first one
that can reach them within WeChat's rules is taken, in SQL, so a million members are
chosen for in the database and the forecast is the same expression grouped:
- `template` (service notices): following, not marked unreachable on it;
- `subscribe` (the mini-program's subscribe message): a mini-program openid and a one-time
  grant left for the kind's template (each send uses one);
- `bizsend` (the Official Account's subscribe message): following and a grant left;
- `custom` (customer service): following and inside the 48 hours since the member last
  opened the window (`member.window_at`: a message, a menu click, a subscribe, a scan, a
  payment);
- `mass` (群发, marketing, always last): following and fewer than `mass_sends_per_month`
  mass messages this local month (checked per batch, `mass_full`, as WeChat counts them).
A member no channel reaches is not planned; the forecast says why, channel by channel.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from wx_member.clock import day_start, local_day
from wx_member.models import Delivery, Member, MemberReach, SubscribeGrant
from wx_member.platform import settings
from wx_member.pushes.definitions import PushKind

WINDOW_48H = timedelta(hours=48)
OA_CHANNELS = ("template", "bizsend", "custom", "mass")  # the Official Account's openid
# Why a channel cannot reach a member (labels.REACH_REASONS words them for people).
REASONS = ("no_openid", "unfollowed", "blocked", "no_grant", "window", "mass_limit")

_forecasting: ContextVar[Forecast | None] = ContextVar("push_forecast", default=None)


@dataclass
class Forecast:
    """What planning a kind (or a campaign) now would do: members targeted, the channel
    each would get, those the weekly cap would hold back (a skipped row, marketing only)
    and those no channel reaches, by their channels' reasons."""
    kind: str
    targeted: int = 0
    by_channel: Counter = field(default_factory=Counter)  # channel → members planned on it
    capped: int = 0
    unreachable: Counter = field(default_factory=Counter)  # (reason per channel) → members

    @property
    def reachable(self) -> int:
        return sum(self.by_channel.values())

    @property
    def unreachable_total(self) -> int:
        return sum(self.unreachable.values())


def forecasting() -> Forecast | None:
    """The forecast being gathered (planners skip side effects then), or None."""
    return _forecasting.get()


@contextmanager
def gather(kind: str):
    """Within: `fanout.fan_out` adds to the yielded Forecast instead of writing."""
    forecast = Forecast(kind)
    token = _forecasting.set(forecast)
    try:
        yield forecast
    finally:
        _forecasting.reset(token)


def _marked(channel: str):
    return exists().where(MemberReach.member_id == Member.id, MemberReach.channel == channel)


def _grant(template_id: str | None):
    return exists().where(SubscribeGrant.member_id == Member.id,
                          SubscribeGrant.template_id == (template_id or ""),
                          SubscribeGrant.remaining > 0)


def why_not(push: PushKind, channel: str, now: datetime):
    """SQL: NULL when `channel` can reach the member now, else a reason from REASONS."""
    openid = Member.mini_openid if channel == "subscribe" else Member.openid
    whens: list[tuple[Any, str]] = [(openid.is_(None), "no_openid")]
    if channel in OA_CHANNELS:
        whens.append((Member.subscribed.is_not(True), "unfollowed"))
    whens.append((_marked(channel), "blocked"))
    if channel in ("subscribe", "bizsend"):
        whens.append((~_grant(push.template_ids.get(channel)), "no_grant"))
    if channel == "custom":
        whens.append((or_(Member.window_at.is_(None), Member.window_at < now - WINDOW_48H),
                      "window"))
    return case(*whens, else_=None)


def chosen(push: PushKind, now: datetime):
    """SQL: the first of the kind's channels that can reach the member, or NULL."""
    if not push.channels:
        return literal(None)
    return case(*[(why_not(push, c, now).is_(None), literal(c)) for c in push.channels],
                else_=None)


def audience(push: PushKind, now: datetime) -> Select:
    """Members the kind can reach on one of its channels, with `channel` (the chosen one)
    and `openid` (that channel's: the mini-program's for `subscribe`). While a forecast is
    gathered, every targeted member, with `why_<channel>` for each channel."""
    channel = chosen(push, now)
    openid = case((channel == "subscribe", Member.mini_openid), else_=Member.openid)
    q = select(Member.id, openid.label("openid"), channel.label("channel"), Member.card_no,
               Member.tier, Member.points_balance)
    if forecasting() is None:
        return q.where(channel.is_not(None))
    return q.add_columns(*[why_not(push, c, now).label(f"why_{c}") for c in push.channels])


# -- the monthly mass limit and the weekly cap, per batch and in the forecast ---------------
def month_start(now: datetime, tz: ZoneInfo) -> datetime:
    """UTC start of the local calendar month of `now` (WeChat counts mass sends a month)."""
    return day_start(local_day(now, tz).replace(day=1), tz)


def _mass_sent(member_id, now: datetime, tz: ZoneInfo):
    return and_(Delivery.member_id == member_id, Delivery.channel == "mass",
                Delivery.dry_run.is_(False), Delivery.created_at >= month_start(now, tz),
                Delivery.status.not_in(("skipped", "failed")))


def mass_full(session: Session, member_ids: list[int], now: datetime, tz: ZoneInfo) -> set[int]:
    """Members of `member_ids` with this month's mass sends used up."""
    if not member_ids:
        return set()
    limit = settings.get(session, "mass_sends_per_month")
    if limit <= 0:  # mass sends off
        return set(member_ids)
    return set(session.scalars(
        select(Delivery.member_id).where(Delivery.member_id.in_(member_ids),
                                         _mass_sent(Delivery.member_id, now, tz))
        .group_by(Delivery.member_id).having(func.count() >= limit)))


def _recent_marketing(member_id, now: datetime):
    return and_(Delivery.member_id == member_id, Delivery.marketing.is_(True),
                Delivery.dry_run.is_(False), Delivery.created_at >= now - timedelta(days=7),
                Delivery.status.not_in(("skipped", "failed")))


def capped_members(session: Session, member_ids: list[int], now: datetime) -> set[int]:
    cap = settings.get(session, "marketing_pushes_per_week")
    counted = (select(Delivery.member_id).where(
        Delivery.member_id.in_(member_ids), _recent_marketing(Delivery.member_id, now))
        .group_by(Delivery.member_id).having(func.count() >= cap))
    return set(session.scalars(counted))


def add_forecast(session: Session, forecast: Forecast, push: PushKind, query: Select,
                 now: datetime, tz: ZoneInfo) -> None:
    """In the caller's (read) transaction: `query` (an `audience` made while gathering)
    grouped by chosen channel and reasons, with the checks `fan_out` makes per batch."""
    sub = query.subquery()
    mass = (select(func.count()).select_from(Delivery)
            .where(_mass_sent(sub.c.id, now, tz)).scalar_subquery())
    recent = (select(func.count()).select_from(Delivery)
              .where(_recent_marketing(sub.c.id, now)).scalar_subquery())
    limit = settings.get(session, "mass_sends_per_month")
    cap = settings.get(session, "marketing_pushes_per_week")
    full = case((and_(sub.c.channel == "mass", mass >= limit), True), else_=False)
    held = case((recent >= cap, True), else_=False) if push.marketing else literal(False)
    whys = [sub.c[f"why_{c}"] for c in push.channels]
    # A constant is not grouped by: MySQL reads `GROUP BY 0` as a column's position.
    groups = [sub.c.channel, full, *([held] if push.marketing else []), *whys]
    for row in session.execute(select(sub.c.channel, full.label("full"), held.label("held"),
                                      *whys, func.count().label("n"))
                               .group_by(*groups)):
        n = int(row.n)
        forecast.targeted += n
        if row.channel is None or row.full:
            reasons = tuple(f"{c}:{row[3 + i] or 'mass_limit'}"
                            for i, c in enumerate(push.channels))
            forecast.unreachable[reasons] += n
        elif row.held:
            forecast.capped += n
        else:
            forecast.by_channel[row.channel] += n
