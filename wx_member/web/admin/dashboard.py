"""The dashboard: member KPIs, RFM segments, tiers and push delivery, as inline SVG.

Its figures are the one console page read from the read replica when there is one (they
may lag the primary by up to WX_REPLICA_MAX_LAG seconds, and say so): nothing an operator
changes is shown here right after, so a stale figure surprises nobody."""
from __future__ import annotations

from flask import g, render_template, request

from wx_member import replica
from wx_member.extensions import runtime
from wx_member.labels import PUSH_CHANNELS, tier_name
from wx_member.insights import kpis
from wx_member.insights import push_rates, reach_view, rfm
from wx_member.web.admin import charts, words
from wx_member.members import stores
from wx_member.web.admin.blueprint import bp, scope, store_filter

PERIODS = (7, 30, 90)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        return default


@bp.route("/")
def dashboard():
    days = _int_arg("days", 30, 1, kpis.MAX_DAYS)
    conversion_days = _int_arg("conversion_days", 30, 1, 365)
    churn_days = _int_arg("churn_days", 90, 1, 730)
    period = kpis.Period.last_days(days, runtime().config.tz)
    store = store_filter()  # a store account: its own store, whatever the query says
    k = kpis.compute(g.db, period, conversion_days=conversion_days, churn_days=churn_days,
                     store_id=store)
    segments = rfm.segment_sizes(g.db, as_of=period.end, store_id=store)
    tiers = [(tier_name(t), n) for t, n in kpis.tier_distribution(g.db, store_id=store)]
    rates = push_rates.delivery_rates(g.db, period, store_id=store)
    choices = stores.choices(g.db)
    reach_kind = request.args.get("reach_kind", "")
    reach_kind = reach_kind if reach_kind in runtime().pushes else ""
    reach_time = reach_view.reach_over_time(g.db, period, kind=reach_kind or None,
                                             store_id=store, replica=True)
    reach = push_rates.reach_by_channel(g.db, period)
    return render_template(
        "admin/dashboard.html", k=k, period=period, days=days, periods=PERIODS, rfm=segments,
        store=store, store_choices=choices if scope() is None else [],
        store_label=next((f"{c} {n}" for i, c, n in choices if i == store), None),
        joins_chart=charts.columns([(f"{d:%m-%d}", n) for d, n in k.joins_per_day], "每日新会员"),
        rfm_chart=charts.bars(list(segments.sizes.items()) + [("未消费", segments.non_buyers)],
                              "RFM 分群", unit=" 人"),
        tier_chart=charts.bars(tiers, "等级分布", unit=" 人"),
        delivery_chart=charts.bars([(words.kind_name(r.kind), round(100 * r.delivery_rate, 1))
                                    for r in rates if r.delivery_rate is not None],
                                   "推送送达率", unit="%"),
        rates=rates, reach=reach, channel_zh=PUSH_CHANNELS,
        replica_lag=replica.served_lag(g.db),  # None: every figure from the primary
        reach_kinds=sorted(runtime().pushes), reach_kind=reach_kind, reach_time=reach_time,
        reach_time_chart=charts.reach(reach_time, "触达趋势"),
        reach_time_caption=f"触达趋势：{words.kind_name(reach_kind) if reach_kind else '全部类型'}")


@bp.app_template_filter("pct")
def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"
