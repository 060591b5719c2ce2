"""The dashboard: member KPIs, RFM segments, tiers and push delivery, as inline SVG."""
from __future__ import annotations

from flask import render_template

from wx_member.web.admin import bp


@bp.route("/")
def dashboard():
    return render_template("admin/dashboard.html")
