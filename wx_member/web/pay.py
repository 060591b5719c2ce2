"""/pay/...: WeChat Pay notifies. Verify, hand to one use case, acknowledge.

WeChat Pay repeats a notify until it gets a success answer (15 times over about 24 h), so a
success answer means "recorded or already recorded", and anything we refuse gets a FAIL
answer and a log line, never a silent success. The reason in a FAIL answer is generic; the
log has the details.

    POST /pay/notify          v2 payment (XML, MD5 or HMAC-SHA256 sign)
    POST /pay/refund-notify   v2 refund (XML, encrypted req_info)
    POST /pay/v3/notify       v3 payment and refund (JSON, Wechatpay-* signature headers)
"""
from __future__ import annotations

import logging
from functools import lru_cache

from flask import Blueprint, Response, g, jsonify, request

from wx_member.extensions import runtime
from wx_member.payments import order_refunds, orders
from wx_member.payments import (membership_refunds, paid_memberships, wxpay_orders,
                                wxpay_settlement)
from wx_member.platform.errors import DomainError
from wx_member.wechat import pay, pay_v2, pay_v3
from wx_member.wechat.pay_keys import PlatformKeys

log = logging.getLogger(__name__)
bp = Blueprint("pay", __name__, url_prefix="/pay")

# /pay's one mapping of domain errors, by code, to WeChat Pay's FAIL answer (status, reason;
# the Chinese user_message is for members, not for WeChat Pay): 400 not authentic or
# malformed, 409 disagrees with our records, 503 not configured (an operator must act;
# WeChat keeps retrying meanwhile). Any other domain error: 400 "rejected".
_STATUS = {"ORDER_MISMATCH": (409, "order mismatch"),
           "UNKNOWN_ORDER": (409, "unknown order"),
           "NOT_A_MEMBER": (409, "recharge by a non-member"),
           "WXPAY_UNAVAILABLE": (503, "try again later")}
RECHARGE = "recharge"  # the `attach` the mini-program sets on a stored-value order


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _body() -> bytes:
    limit = runtime().config.max_body_bytes
    if request.content_length is None or request.content_length > limit:
        raise _Refused(413 if request.content_length else 411, "body too large or not sized")
    return request.get_data(cache=False)


def _record(notice) -> None:
    try:
        if isinstance(notice, pay.PaymentNotice) and (
                notice.attach in (RECHARGE, wxpay_orders.STORE_PAY)
                or paid_memberships.is_membership(notice.attach)):
            # An order we closed meanwhile is checked with WeChat Pay before it is credited.
            wxpay_settlement.record_notified(g.db, runtime().wxpay, notice,
                                             tz=runtime().config.tz)
        elif isinstance(notice, pay.PaymentNotice):
            orders.record_payment(g.db, notice, tz=runtime().config.tz)
        elif isinstance(notice, pay.RefundNotice) and membership_refunds.record_notified(
                g.db, notice, tz=runtime().config.tz):
            pass  # a paid membership's refund the shop started: completed there
        elif isinstance(notice, pay.RefundNotice):
            order_refunds.record_refund(g.db, notice, tz=runtime().config.tz)
    except DomainError as exc:
        log.warning("pay notify refused: %s", exc)
        raise _Refused(*_STATUS.get(exc.code, (400, "rejected"))) from None


def _v2_answer(code: str, msg: str, status: int = 200) -> Response:
    return Response(f"<xml><return_code><![CDATA[{code}]]></return_code>"
                    f"<return_msg><![CDATA[{msg}]]></return_msg></xml>",
                    status=status, content_type="application/xml; charset=utf-8")


def _v2(decode) -> Response:
    cfg = runtime().config
    try:
        if not (cfg.appid and cfg.mch_id and cfg.pay_api_key):
            log.error("WeChat Pay v2 notify, but WX_APPID/WXPAY_MCH_ID/WXPAY_API_KEY are not set")
            raise _Refused(503, "payments not configured")
        try:
            notice = decode(_body(), cfg.pay_appids, cfg.mch_id, cfg.pay_api_key)
        except pay.PayRejected as exc:
            log.warning("pay notify refused: %s", exc)
            raise _Refused(400, "invalid notify") from None
        _record(notice)
    except _Refused as refused:
        return _v2_answer("FAIL", refused.reason, refused.status)
    return _v2_answer("SUCCESS", "OK")


@bp.post("/notify")
def v2_payment():
    return _v2(pay_v2.v2_payment)


@bp.post("/refund-notify")
def v2_refund():
    return _v2(pay_v2.v2_refund)


def _platform_keys():
    """The merchant client's key ring (platform certificates downloaded and rotated, or the
    WeChat Pay public key); without a merchant client, the certificate file alone."""
    rt = runtime()
    if rt.wxpay is not None:
        return rt.wxpay.keys.key_for
    return _file_keys(rt.config.pay_platform_cert).key_for


@lru_cache(maxsize=4)
def _file_keys(path: str) -> PlatformKeys:
    return PlatformKeys(cert_path=path)  # re-reads the file when it changes (rotation)


@bp.post("/v3/notify")
def v3_notify():
    cfg = runtime().config
    try:
        if not (cfg.appid and cfg.mch_id and cfg.pay_apiv3_key
                and (cfg.pay_platform_cert or runtime().wxpay is not None)):
            log.error("WeChat Pay v3 notify, but WXPAY_APIV3_KEY and WXPAY_PLATFORM_CERT or the "
                      "merchant key (WXPAY_PRIVATE_KEY, WXPAY_CERT_SERIAL) are not set")
            raise _Refused(503, "payments not configured")
        try:
            notice = pay_v3.v3_notify(request.headers, _body(), _platform_keys(), cfg.pay_apiv3_key,
                                   cfg.pay_appids, cfg.mch_id)
        except pay.PayRejected as exc:
            log.warning("pay v3 notify refused: %s", exc)
            raise _Refused(400, "invalid notify") from None
        if notice is None:
            log.info("pay v3 notify of an event type we do not use; acknowledged")
        _record(notice)
    except _Refused as refused:
        return jsonify(code="FAIL", message=refused.reason), refused.status
    return Response(status=204)
