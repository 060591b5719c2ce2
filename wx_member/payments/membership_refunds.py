"""Refunds of paid memberships (付费会员) that the shop starts (console, CLI) through WeChat
Pay's `/v3/refund/domestic/refunds`, as the setting `paid_membership_refund` says:
`prorata` refunds the unused whole days' share of the price, `never` refuses.

The purchase is marked `requested` first (a second refund of it is refused meanwhile);
WeChat Pay accepting the refund ends the purchase's period now (the unused days, and the
day begun, which is not refunded, come off the member's paid tier: a later renewal moves
up) and, when that ends the paid tier, returns the member to the tier their spend gives
(loyalty/tiers.py, reason `paid_refund`); its REFUND.SUCCESS notify marks the refund succeeded (and does the same if
the acceptance never reached us). WeChat Pay refusing it leaves the purchase as it was.
WeChat Pay is called with no transaction open.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.errors import DomainError
from wx_member.loyalty import tiers
from wx_member.models import Member, MembershipPurchase, PaidTier
from wx_member.payments.paid_memberships import DEFAULT_TZ
from wx_member.platform import settings
from wx_member.platform.ledger import lock_member
from wx_member.wechat.pay import RefundNotice
from wx_member.wechat.pay_client import PayApiError, WeChatPayClient

log = logging.getLogger(__name__)


class MembershipRefundRefused(DomainError):
    code = "MEMBERSHIP_REFUND_REFUSED"
    user_message = "该会员卡不能退款。"


@dataclass(frozen=True)
class MembershipRefundView:
    out_refund_no: str
    out_trade_no: str
    refund_fen: int
    unused_days: int
    status: str
    tier: str  # the member's tier after it
    paid_ends_at: datetime | None  # their paid tier's end after it (None: none left)


def _locked(session: Session, out_trade_no: str) -> tuple[Member, MembershipPurchase]:
    found = session.scalar(select(MembershipPurchase).where(
        MembershipPurchase.out_trade_no == out_trade_no))
    if found is None:
        raise MembershipRefundRefused(f"no membership purchase {out_trade_no}",
                                      user_message="找不到该付费会员订单。")
    member = lock_member(session, Member.id == found.member_id)  # member first, then purchase
    purchase = session.scalar(select(MembershipPurchase).where(
        MembershipPurchase.id == found.id).with_for_update()
        .execution_options(populate_existing=True))
    return member, purchase


def unused_days(purchase: MembershipPurchase, now: datetime) -> tuple[int, int]:
    """(whole days not yet begun, days bought) of the purchase's period at `now`."""
    total = (purchase.ends_at - purchase.starts_at).days
    left = purchase.ends_at - max(now, purchase.starts_at)
    return max(0, min(total, left.days)), total


def refund_membership(uow: UnitOfWork, client: WeChatPayClient, out_trade_no: str, *, by: str,
                      reason: str = "", tz: ZoneInfo = DEFAULT_TZ,
                      now: datetime | None = None) -> MembershipRefundView:
    """Use case: refund paid membership `out_trade_no` pro rata by its unused whole days
    (setting `paid_membership_refund` = prorata; `never` refuses). Raises
    MembershipRefundRefused (Chinese, nothing changed) or PayApiError (WeChat Pay refused:
    the purchase stands; no answer: held until the notify)."""
    now = now or utcnow()
    rno, fen, total = _hold(uow, out_trade_no, by, now)
    try:
        client.refund(out_trade_no=out_trade_no, out_refund_no=rno, refund_fen=fen,
                      total_fen=total, reason=reason or "付费会员退款")
    except PayApiError as exc:
        if exc.maybe_sent:
            log.error("membership refund %s of %s: no answer from WeChat Pay: %s", rno,
                      out_trade_no, exc)
            raise
        log.warning("membership refund %s of %s refused by WeChat Pay: %s", rno,
                    out_trade_no, exc)
        _failed(uow, out_trade_no, exc.wx_code or "NO_ANSWER")
        raise
    return _take_off(uow, out_trade_no, "processing", tz, now)


def _hold(uow: UnitOfWork, no: str, by: str, now: datetime) -> tuple[str, int, int]:
    with uow.write() as session:
        if settings.get(session, "paid_membership_refund") == "never":
            raise MembershipRefundRefused(f"paid memberships are not refunded ({no})",
                                          user_message="本店付费会员购买后不支持退款。")
        member, purchase = _locked(session, no)
        if purchase.refund_status in ("requested", "processing", "succeeded"):
            raise MembershipRefundRefused(f"membership {no} already refunded",
                                          user_message="该付费会员订单已退款。")
        days, total = unused_days(purchase, now)
        fen = purchase.amount_fen * days // total if total else 0
        if fen <= 0:
            raise MembershipRefundRefused(f"membership {no}: no unused day left",
                                          user_message="该会员卡已无未使用天数，不能退款。")
        rno = "RM" + now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()
        purchase.out_refund_no, purchase.refund_fen, purchase.refund_days = rno, fen, days
        purchase.refund_status, purchase.refund_by = "requested", by[:60]
        log.info("membership refund %s of %s (member %s): %d of %d fen for %d of %d days by %s",
                 rno, no, member.id, fen, purchase.amount_fen, days, total, by)
        return rno, fen, purchase.amount_fen


def _failed(uow: UnitOfWork, no: str, error: str) -> None:
    """Use case: WeChat Pay refused the refund: the purchase stands (it may be retried)."""
    with uow.write() as session:
        _, purchase = _locked(session, no)
        purchase.refund_status = "failed"
        purchase.out_refund_no = None
        purchase.refund_fen = purchase.refund_days = 0
        log.info("membership refund of %s failed: %s", no, error)


def _take_off(uow: UnitOfWork, no: str, status: str, tz: ZoneInfo,
              now: datetime) -> MembershipRefundView:
    """Use case: the refund went through: the unused days leave the paid tier (once) and
    the tier is recomputed when that ends it."""
    with uow.write() as session:
        member, purchase = _locked(session, no)
        row = session.get(PaidTier, member.id)
        if purchase.refund_status == "requested":
            # The purchase's period ends now (a day begun is not refunded, nor kept).
            removed = max(timedelta(0), purchase.ends_at - max(now, purchase.starts_at))
            purchase.ends_at -= removed
            if row is not None:
                row.ends_at -= removed
                row.updated_at = now
                if row.ends_at <= now and row.expired_at is None:
                    row.expired_at = now
                    tiers.after_paid_expiry(session, member, row.tier, f"paid_refund:{no}",
                                            tz, now, reason="paid_refund")
            purchase.refunded_at = now
        if purchase.refund_status in ("requested", "processing"):
            purchase.refund_status = status
        ends = row.ends_at if row is not None and row.ends_at > now else None
        return MembershipRefundView(purchase.out_refund_no or "", no, purchase.refund_fen,
                                    purchase.refund_days, purchase.refund_status, member.tier,
                                    ends)


def record_notified(uow: UnitOfWork, notice: RefundNotice, *, tz: ZoneInfo = DEFAULT_TZ,
                    now: datetime | None = None) -> bool:
    """Use case: a verified refund notify. False when it is not a paid membership refund of
    ours (payments/order_refunds.py records it); else marks it succeeded, once."""
    with uow.read() as session:
        ours = session.scalar(select(MembershipPurchase.id).where(
            MembershipPurchase.out_refund_no == notice.out_refund_no))
    if ours is None:
        return False
    if notice.success:
        _take_off(uow, notice.out_trade_no, "succeeded", tz, now or utcnow())
    return True
