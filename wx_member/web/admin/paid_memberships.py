"""付费会员: the products the mini-program sells (a tier for N days), listed with what they
sold, added, withdrawn from sale or put back by admins (audited by the use cases); and, on a
member's page, an admin refunds a paid membership through WeChat Pay, pro rata by its unused
days or refused, as the setting `paid_membership_refund` says."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wx_member import labels
from wx_member.extensions import runtime
from wx_member.loyalty import tiers
from wx_member.payments import membership_products_view, paid_memberships
from wx_member.platform.errors import DomainError, InvalidAmount
from wx_member.web.admin import words
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


@bp.route("/memberships")
def memberships_page():
    return render_template("admin/memberships.html",
                           products=membership_products_view.rows(g.db),
                           tiers=[(t, labels.tier_name(t)) for t in tiers.LADDER[1:]])


@bp.route("/memberships", methods=["POST"])
@requires("admin")
def membership_product_add():
    form = request.form
    try:
        days = form.get("days", "").strip()
        if not days.isdigit():
            raise InvalidAmount(f"bad days {days!r}", user_message="天数须在 1 至 3660 之间。")
        p = paid_memberships.add_product(
            g.db, name=form.get("name", ""), tier=form.get("tier", ""), days=int(days),
            price_fen=words.parse_yuan(form.get("price", "")), by=g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"付费会员卡「{p.name}」已上架：{p.tier_zh} {p.days} 天，{words.yuan(p.price_fen)} 元，"
              "会员在小程序里即可购买。", "ok")
    return redirect(url_for("admin.memberships_page"))


@bp.route("/memberships/<int:product_id>/active", methods=["POST"])
@requires("admin")
def membership_product_active(product_id: int):
    active = request.form.get("active") == "1"
    p = paid_memberships.set_product_active(g.db, product_id, active, g.operator.username)
    flash(f"付费会员卡「{p.name}」已重新上架。" if active else
          f"付费会员卡「{p.name}」已下架：会员不能再购买，已购买的会员期限不变。", "ok")
    return redirect(url_for("admin.memberships_page"))
