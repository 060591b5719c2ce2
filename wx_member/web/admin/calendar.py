"""会员日历: a month of member days and dated earn rules, each local day with the discounts
and points multipliers every tier gets at the till (payments/benefits_calendar.py, built
from the quote's own rule functions). Everyone reads; changes are made on 会员权益 and
积分活动. A grid at a desk, a list of the days with something on them on a phone."""
from __future__ import annotations

from flask import g, render_template

from wx_member.loyalty import earn_rules
from wx_member.payments import benefits_calendar
from wx_member.web.admin.blueprint import bp
from wx_member.web.admin.earn_rules import around, chosen_month


@bp.route("/calendar")
def calendar_page():
    year, month = chosen_month()
    weeks = benefits_calendar.month(g.db, year, month)
    busy = [d for week in weeks for d in week if d is not None and d.lines]
    return render_template("admin/calendar.html", weeks=weeks, busy=busy, year=year,
                           month=month, weekdays=earn_rules.WEEKDAYS_ZH, **around(year, month))
