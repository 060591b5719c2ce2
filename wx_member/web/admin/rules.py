"""Programme rules (the `setting` table) and the audit log. Admins change rules; every
change is audited and used by the next event, without a restart."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from wx_member.console import audit
from wx_member.platform import settings
from wx_member.platform.errors import DomainError
from wx_member.web.admin import bp
from wx_member.web.admin.auth import requires

LABELS = {
    "signup_points": ("入会赠送积分", "分"),
    "referral_points": ("推荐好友奖励积分（给推荐人）", "分"),
    "checkin_points": ("每日签到积分", "分"),
    "points_per_yuan": ("普通会员每消费 1 元得积分", "分"),
    "tier_silver_fen": ("银卡门槛（累计消费）", "分钱"),
    "tier_gold_fen": ("金卡门槛（累计消费）", "分钱"),
    "tier_diamond_fen": ("钻石卡门槛（累计消费）", "分钱"),
    "tier_normal_rate": ("普通会员积分倍率", "%"),
    "tier_silver_rate": ("银卡积分倍率", "%"),
    "tier_gold_rate": ("金卡积分倍率", "%"),
    "tier_diamond_rate": ("钻石卡积分倍率", "%"),
    "quiet_start_hour": ("免打扰开始（本地时）", "时"),
    "quiet_end_hour": ("免打扰结束（本地时）", "时"),
    "marketing_pushes_per_week": ("每位会员 7 天内最多营销推送", "条"),
    "referral_mode": ("推荐奖励方式（fixed 固定 / percent 按被推荐人前几单积分比例）", ""),
    "referral_percent": ("推荐奖励比例", "%"),
    "referral_orders": ("推荐奖励计入被推荐人的前几单", "单"),
    "birthday_points": ("生日月赠送积分（0 为不送）", "分"),
    "tier_window_months": ("等级统计期（0 为累计消费）", "个月"),
    "tier_review": ("降级复核（never 不降级 / yearly 每年周年日）", ""),
    "winback_days": ("多少天未消费发送唤回消息（0 为关闭）", "天"),
    "signup_coupon_template": ("入会赠送优惠券模板编号（0 为不送）", ""),
    "birthday_coupon_template": ("生日赠送优惠券模板编号（0 为不送）", ""),
    "winback_coupon_template": ("唤回消息附赠优惠券模板编号（0 为不送）", ""),
}


@bp.route("/rules")
def rules():
    values = settings.all_settings(g.db)
    rows = [(key, *LABELS.get(key, (key, "")), value, settings.DEFAULTS[key])
            for key, value in values.items()]
    return render_template("admin/rules.html", rows=rows, csrf_form=FlaskForm(),
                           changes=audit.recent(g.db, 30, action_prefix="setting."))


@bp.route("/rules", methods=["POST"])
@requires("admin")
def rule_change():
    key, raw = request.form.get("key", ""), request.form.get("value", "").strip()
    try:
        value = settings.parse(key, raw)  # a number, or a word for the few word-valued rules
    except DomainError:
        hint = "、".join(settings.CHOICES[key]) if key in settings.CHOICES else "非负整数"
        flash(f"{LABELS.get(key, (key,))[0]}：请填写{hint}。", "error")
        return redirect(url_for("admin.rules"))
    try:
        settings.change(g.db, key, value, g.operator.username)
    except DomainError as exc:
        flash(f"{LABELS.get(key, (key,))[0]}：{exc.user_message}", "error")
    else:
        flash(f"{LABELS.get(key, (key,))[0]} 已改为 {value}，立即生效。", "ok")
    return redirect(url_for("admin.rules"))


@bp.route("/audit")
def audit_list():
    prefix = request.args.get("action", "")
    return render_template("admin/audit.html", prefix=prefix,
                           entries=audit.recent(g.db, 200, action_prefix=prefix or None))
