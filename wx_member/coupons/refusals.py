"""Why a coupon cannot be used: each refusal a `DomainError` with its code (web/errors.py
maps them to 404 or 409) and the member's Chinese message. Raised by redeeming.py
(redeeming, voiding), wallet.py (an operator issuing above the member's tier) and
payments/pricing.py (the till's quote); nothing is written when one is raised.
"""
from __future__ import annotations

from wx_member.platform.errors import DomainError


class CouponRefused(DomainError):
    code = "COUPON_REFUSED"
    user_message = "优惠券无法使用。"


class CouponNotFound(CouponRefused):
    code = "COUPON_NOT_FOUND"
    user_message = "优惠券不存在。"


class CouponNotYours(CouponRefused):
    code = "COUPON_NOT_YOURS"
    user_message = "这张优惠券不属于您。"


class CouponUsed(CouponRefused):
    code = "COUPON_USED"
    user_message = "优惠券已使用。"


class CouponExpired(CouponRefused):
    code = "COUPON_EXPIRED"
    user_message = "优惠券已过期。"


class CouponVoid(CouponRefused):
    code = "COUPON_VOID"
    user_message = "优惠券已作废。"


class CouponNotYetValid(CouponRefused):
    code = "COUPON_NOT_YET_VALID"
    user_message = "优惠券尚未到使用时间。"


class BelowMinimumSpend(CouponRefused):
    code = "BELOW_MINIMUM_SPEND"
    user_message = "订单金额未达到优惠券的使用门槛。"


class TierTooLow(CouponRefused):
    code = "TIER_TOO_LOW"
    user_message = "您的会员等级不能使用这张优惠券。"


class CouponWrongStore(CouponRefused):
    code = "COUPON_WRONG_STORE"
    user_message = "该优惠券不能在本门店使用。"
