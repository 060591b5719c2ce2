"""Tables, one module per area; importing this package registers them all on Base.metadata
(Alembic's autogenerate and the tests rely on that)."""
from wx_member.models.core import (  # noqa: F401
    Base,
    BigId,
    Channel,
    InboundEvent,
    Member,
    PointsLedger,
    QrScan,
    Setting,
)
# Kept while code written before wx_member.clock (tests, other branches) still imports it
# from here; new code imports `from wx_member.clock import utcnow`.
from wx_member.clock import utcnow  # noqa: F401
from wx_member.models.coupons import (Coupon, CouponEvent, CouponTemplate,  # noqa: F401
                                      CouponTemplateStore)
from wx_member.models.orders import Order, Refund, TierHistory  # noqa: F401
from wx_member.models.rules import EarnRule, TierReview  # noqa: F401
from wx_member.models.points import Gift, GiftImage, PointsExpiryMark, PointsRedemption  # noqa: F401,E501
from wx_member.models.pushes import Delivery, MemberReach, SchedulerLease, SubscribeGrant, TokenCache  # noqa: F401,E501
from wx_member.models.stored_value import RechargeOption, StoredValueLedger  # noqa: F401
from wx_member.models.console import AuditLog, LoginAttempt, MemberTag, MenuVersion, Operator  # noqa: F401,E501
from wx_member.models.privacy import PrivacyRequest  # noqa: F401
from wx_member.models.campaigns import Campaign  # noqa: F401
from wx_member.models.ratelimit import RateLimitCounter  # noqa: F401
from wx_member.models.stores import Store, TillKey  # noqa: F401
from wx_member.models.benefits import MemberDay, MemberPrice, TierDiscount  # noqa: F401
from wx_member.models.till_orders import OrderLine, PaymentPart, TillRequest  # noqa: F401
from wx_member.models.preferences import TagRule  # noqa: F401
from wx_member.models.wxpay import JsapiOrder, RechargeRefund  # noqa: F401
from wx_member.models.store_payments import StorePayment  # noqa: F401
from wx_member.models.identity import CardHistory, MemberCodeUse, MemberMerge  # noqa: F401
from wx_member.models.reach import (  # noqa: F401
    MassJob, WechatTag, WechatTagMember, WechatUntag)
from wx_member.models.paid_membership import (  # noqa: F401
    MembershipProduct, MembershipPurchase, PaidTier)
