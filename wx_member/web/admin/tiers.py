"""会员等级: the tier ladder in an operator's words (thresholds in yuan, stored in fen; earn
rates; each tier's till discount from 会员权益; birthday points and coupon and the monthly
coupon (每月礼券) per tier; the review mode; how many members hold each tier), edited by admins with the checks of
`loyalty/tier_settings.py` in Chinese: a ladder that does not increase is refused, a
threshold under ¥10 is saved only after the operator confirms it. Every change is audited
before → after (`setting.change`, one entry per rule). Headquarters only (not in
STORE_ENDPOINTS)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.coupons import templates
from wx_member.loyalty import tier_settings, tiers
from wx_member.payments import benefits_view
from wx_member.platform import audit
from wx_member.platform.errors import DomainError, InvalidSetting
from wx_member.web.admin import words
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp

# The rules this page owns (the rules page leaves them out and links here).
KEYS = frozenset({"tier_review", "tier_window_months",
                  *(f"tier_{t}_fen" for t in tiers.LADDER[1:]),
                  *(f"tier_{t}_{suffix}" for t in tiers.LADDER
                    for suffix in ("rate", "birthday_points", "birthday_coupon_template",
                                   "monthly_coupon_template"))})


def _whole(text: str, what: str) -> int:
    text = (text or "").strip().rstrip("%％")
    if not text.isdigit():
        raise InvalidSetting(f"bad {what} {text!r}", user_message=f"{what}须为非负整数。")
    return int(text)


def _page(pending: dict | None = None, status: int = 200):
    ladder = tier_settings.ladder(g.db)
    discounts = {tier: (percent, excluded) for tier, percent, excluded
                 in benefits_view.overview(g.db)["tier_discounts"]}
    coupons = [(0, "不送")] + [(t.id, f"{t.name}（{templates.describe(t)}）")
                               for t in templates.issuing(g.db)]
    changes = [a for a in audit.recent(g.db, 200, action_prefix="setting.") if a.target in KEYS][:30]
    return render_template(
        "admin/tiers.html", ladder=ladder, discounts=discounts, coupons=coupons,
        template_name=words.template_name, percent_text=words.percent_text, pending=pending,
        review_choices=labels.SETTING_CHOICES["tier_review"], changes=changes), status


@bp.route("/tiers")
def tiers_page():
    return _page()


@bp.route("/tiers/<tier>", methods=["POST"])
@requires("admin")
def tier_save(tier: str):
    form = request.form
    name = labels.tier_name(tier)
    try:
        threshold = None if tier == "normal" else words.parse_yuan(form.get("threshold", ""))
        spec = tier_settings.TierSpec(
            tier, threshold, _whole(form.get("rate", ""), "积分倍率"),
            _whole(form.get("birthday_points", "0") or "0", "生日积分"),
            _whole(form.get("birthday_template", "0") or "0", "生日优惠券"),
            _whole(form.get("monthly_template", "0") or "0", "每月礼券"))
        changed = tier_settings.save_tier(g.db, spec, g.operator.username,
                                          low_confirmed=form.get("confirm_low") == "1")
    except tier_settings.LowThreshold as exc:
        # Asked, not refused: the same values again with 仍然保存.
        return _page(pending={"tier": tier, "message": exc.user_message, "form": dict(form)})
    except DomainError as exc:
        flash(f"{name}：{exc.user_message}", "error")
    else:
        flash(f"{name}已保存（{len(changed)} 项修改），下一次消费、复核或发放起生效。" if changed
              else f"{name}没有修改。", "ok")
    return redirect(url_for("admin.tiers_page"))


@bp.route("/tiers/review", methods=["POST"])
@requires("admin")
def tier_review_save():
    try:
        review = request.form.get("review", "")
        if review not in labels.SETTING_CHOICES["tier_review"]:
            raise InvalidSetting(f"review {review!r}", user_message="请选择降级复核方式。")
        changed = tier_settings.save_review(
            g.db, review, _whole(request.form.get("window_months", ""), "等级统计期"),
            g.operator.username)
    except DomainError as exc:
        flash(f"降级复核：{exc.user_message}", "error")
    else:
        flash(f"降级复核已保存：{labels.SETTING_CHOICES['tier_review'][review]}。" if changed
              else "降级复核没有修改。", "ok")
    return redirect(url_for("admin.tiers_page"))
