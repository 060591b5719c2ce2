"""Programme rules (the `setting` table) and the audit log. Admins change rules; every
change is audited and used by the next event, without a restart."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from wx_member.services import audit, settings
from wx_member.services.errors import DomainError
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
        value = int(raw)
    except ValueError:
        flash(f"{LABELS.get(key, (key,))[0]}：请填写非负整数。", "error")
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
