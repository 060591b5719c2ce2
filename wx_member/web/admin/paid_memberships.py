"""Members: an admin refunds a paid membership (付费会员) through WeChat Pay, pro rata by
its unused days or refused, as the setting `paid_membership_refund` says."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wx_member import labels
from wx_member.extensions import runtime
from wx_member.platform.errors import DomainError
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp


class MembershipRefundForm(FlaskForm):
    out_trade_no = StringField("付费会员订单号", validators=[DataRequired(), Length(max=64)])
    reason = StringField("退款原因", validators=[Length(max=80)])


@bp.route("/members/<int:member_id>/membership-refund", methods=["POST"])
@requires("admin")
def member_membership_refund(member_id: int):
    """A paid membership back to the payer's WeChat: the unused whole days' share."""
    from wx_member.payments import membership_refunds

    form = MembershipRefundForm()
    client = runtime().wxpay
    if client is None:
        flash("未配置微信支付商户接口，无法原路退款。", "error")
    elif not form.validate():
        flash("请填写付费会员订单号。", "error")
    else:
        try:
            r = membership_refunds.refund_membership(
                g.db, client, form.out_trade_no.data.strip(), by=g.operator.username,
                reason=form.reason.data or "", tz=runtime().config.tz)
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"已申请退款 {r.refund_fen / 100:.2f} 元（未使用 {r.unused_days} 天），会员等级现为"
                  f"{labels.tier_name(r.tier)}，等待微信支付退款结果。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))
