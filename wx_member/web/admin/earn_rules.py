"""积分活动: double-points days and member days on a month calendar (what a payment on each
local day earns), added and stopped here (audited); the highest multiplier of a day wins."""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for

from wx_member.clock import local_now
from wx_member.extensions import runtime
from wx_member.loyalty import earn_rules, earn_rules_view
from wx_member.platform.errors import DomainError
from wx_member.web.admin.blueprint import bp


def chosen_month() -> tuple[int, int]:
    """The month a calendar page shows (?month=YYYY-MM), this local month otherwise."""
    text = request.args.get("month", "")
    try:
        year, month = (int(p) for p in text.split("-")) if text else (0, 0)
        date(year, month, 1)
        return year, month
    except ValueError:
        today = local_now(runtime().config.tz).date()
        return today.year, today.month


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise earn_rules.InvalidRule(f"bad date {text!r}",
                                     user_message="日期格式应为 YYYY-MM-DD。") from None


def _percent(text: str) -> int:
    text = (text or "").strip().rstrip("%")
    if not text.isdigit():
        raise earn_rules.InvalidRule(f"bad multiplier {text!r}",
                                     user_message="积分倍率须为整数百分比（200 为双倍）。")
    return int(text)


def around(year: int, month: int) -> dict[str, str]:
    """The months before and after, as ?month= takes them."""
    prev = (year - 1, 12) if month == 1 else (year, month - 1)
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return {"prev": "%d-%02d" % prev, "next": "%d-%02d" % nxt}


@bp.route("/earn-rules")
def earn_rules_page():
    year, month = chosen_month()
    return render_template("admin/earn_rules.html", weeks=earn_rules_view.month(g.db, year, month),
                           year=year, month=month, **around(year, month),
                           rules=earn_rules_view.listed(g.db), describe=earn_rules.describe_zh,
                           weekdays=earn_rules.WEEKDAYS_ZH)


@bp.route("/earn-rules", methods=["POST"])
def earn_rule_create():
    form = request.form
    try:
        multiplier, name = _percent(form.get("multiplier", "")), form.get("name", "")
        if form.get("kind") == "weekday":
            weekday = form.get("weekday", "")
            rule = earn_rules.add_weekday(
                g.db, earn_rules.parse_weekday(weekday) if weekday else 0,
                multiplier=multiplier, name=name, starts_on=_day(form.get("starts_on", "")),
                ends_on=_day(form.get("ends_on", "")), by=g.operator.username)
        else:
            first = _day(form.get("starts_on", ""))
            if first is None:
                raise earn_rules.InvalidRule("no date", user_message="请填写开始日期。")
            rule = earn_rules.add_days(g.db, first, _day(form.get("ends_on", "")),
                                       multiplier=multiplier, name=name, by=g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
        return redirect(url_for("admin.earn_rules_page", month=request.args.get("month")))
    flash(f"积分活动「{rule.name}」已生效：{earn_rules.describe_zh(rule)}。", "ok")
    month = rule.starts_on.strftime("%Y-%m") if rule.starts_on else None
    return redirect(url_for("admin.earn_rules_page", month=month))


@bp.route("/earn-rules/<int:rule_id>/disable", methods=["POST"])
def earn_rule_disable(rule_id: int):
    rule = earn_rules.disable(g.db, rule_id, g.operator.username)
    flash(f"积分活动「{rule.name}」已停用，下一笔消费起不再加倍。", "ok")
    return redirect(url_for("admin.earn_rules_page"))
