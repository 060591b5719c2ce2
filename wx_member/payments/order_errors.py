"""What a payment or refund notify can disagree with: the errors of orders and recharges
alike, apart so that stored value (recharges) need not import orders, which imports it
(a refund of a recharge takes the stored value back)."""
from __future__ import annotations

from wx_member.platform.errors import DomainError


class OrderMismatch(DomainError):
    """A notify disagrees with the order or refund we recorded (amount, payer, order)."""
    code = "ORDER_MISMATCH"
    user_message = "支付通知与已记录的订单不一致。"


class UnknownOrder(DomainError):
    """A refund of an order we never recorded: WeChat will retry, the payment may come first."""
    code = "UNKNOWN_ORDER"
    user_message = "订单不存在。"
