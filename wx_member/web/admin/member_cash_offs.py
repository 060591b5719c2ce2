"""A member's page: 积分抵现, the points tills took as cash off the member's orders, and
撤销抵现, an operator giving them back when the sale was abandoned or cancelled
(`redemption.cancel_cash_off`: once per order, refused while the order is recorded as paid,
audited as `points.cash_off_cancel`). Headquarters' accounts only (the endpoint is not
among STORE_ENDPOINTS): the order may have been rung up at any store's till."""
from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from wx_member.loyalty import redemption
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp


class CashOffCancelForm(FlaskForm):
    order_no = HiddenField(validators=[DataRequired(), Length(max=64)])
    reason = StringField("撤销原因", validators=[DataRequired(), Length(max=100)])


@bp.route("/members/<int:member_id>/cash-offs/cancel", methods=["POST"])
def member_cash_off_cancel(member_id: int):
    """撤销抵现: the order's points back to the member, if the cash-off is this member's."""
    form = CashOffCancelForm()
    if not form.validate():
        flash("请填写撤销原因（最多 100 字）。" if form.reason.errors
              else "表单已失效，请刷新后重试。", "error")
    else:
        order_no = form.order_no.data.strip()
        try:
            done = redemption.cancel_cash_off(g.db, order_no, form.reason.data,
                                              by=g.operator.username, member_id=member_id)
        except DomainError as exc:
            flash(exc.user_message, "error")
        else:
            flash(f"订单 {order_no} 的积分抵现已撤销过，未重复退回。" if done.replayed
                  else f"已退回 {done.points} 积分（订单 {order_no}）。", "ok")
    return redirect(url_for("admin.member_detail", member_id=member_id))
