"""Coupon templates and single coupons: list with what each template has issued of its
limit and where it can be used, create, edit while no member holds one, change the limit,
stop or resume issuing; give one member a coupon, void one. Amounts are typed in yuan
(stored in fen), validity as days or local dates, stores picked by name. A store-scoped
account (店长, 店员) sees, read-only, the templates usable in its store."""
from __future__ import annotations

import secrets
from datetime import date, timedelta

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.clock import day_start, local_day
from wx_member.console import member_admin
from wx_member.coupons import redeeming, stock, store_scope, templates, templates_view, wallet
from wx_member.extensions import runtime
from wx_member.loyalty import tiers
from wx_member.platform.errors import DomainError
from wx_member.web.admin import words
from wx_member.web.admin.blueprint import bp, scope


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise templates.InvalidTemplate(f"bad date {text!r}",
                                        user_message="日期格式应为 YYYY-MM-DD。") from None


def _spec(form) -> templates.TemplateSpec:
    """The form as a template: yuan to fen, local dates to the UTC window."""
    tz = runtime().config.tz
    kind = form.get("kind", "")
    amount = lambda name: words.parse_yuan(form[name]) if form.get(name, "").strip() else None  # noqa: E731
    percent = form.get("percent_off", "").strip()
    days = form.get("valid_days", "").strip()
    first, last = _day(form.get("valid_from", "")), _day(form.get("valid_until", ""))
    if (percent and not percent.isdigit()) or (days and not days.isdigit()):
        raise templates.InvalidTemplate("not a number", user_message="折扣和有效天数须为整数。")
    stores = form.getlist("stores") if hasattr(form, "getlist") else []
    if not all(s.isdigit() for s in stores):
        raise templates.InvalidTemplate("bad store", user_message="所选门店不存在，请重新选择。")
    return templates.TemplateSpec(
        name=form.get("name", "").strip(), kind=kind, min_spend_fen=amount("min_spend") or 0,
        amount_off_fen=amount("amount_off") if kind == "amount_off" else None,
        percent_off=int(percent) if kind == "percent_off" and percent else None,
        cap_fen=amount("cap") if kind == "percent_off" else None,
        item=form.get("item", "").strip() or None if kind == "item" else None,
        min_tier=form.get("min_tier") or None,
        valid_days=int(days) if days else None,
        valid_from=day_start(first, tz) if first else None,
        valid_until=day_start(last + timedelta(days=1), tz) if last else None,
        stock_limit=_limit(form.get("stock_limit", "")),
        store_ids=tuple(sorted({int(s) for s in stores})))


def _limit(text: str) -> int | None:
    """The 发放总量 field: blank is unlimited."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise templates.InvalidTemplate(f"bad limit {text!r}",
                                        user_message="发放总量须为正整数，不限量请留空。")
    return int(text)


def _form_values(t) -> dict[str, str]:
    tz = runtime().config.tz
    yuan = lambda fen: words.yuan(fen) if fen else ""  # noqa: E731
    return {"name": t.name, "kind": t.kind, "min_spend": yuan(t.min_spend_fen),
            "amount_off": yuan(t.amount_off_fen), "percent_off": str(t.percent_off or ""),
            "cap": yuan(t.cap_fen), "item": t.item or "", "min_tier": t.min_tier or "",
            "valid_days": str(t.valid_days or ""),
            "valid_from": str(local_day(t.valid_from, tz)) if t.valid_from else "",
            "valid_until": str(local_day(t.valid_until, tz) - timedelta(days=1))
            if t.valid_until else "",
            "stock_limit": str(t.stock_limit) if t.stock_limit is not None else ""}


def _page(f=None, editing=None, status=200, picked=()):
    listed = templates_view.listed(g.db, scope())
    return render_template(
        "admin/coupons.html", rows=listed.rows, stores=listed.stores,
        open_stores=listed.open_stores, picked={int(p) for p in picked if str(p).isdigit()},
        where=store_scope.where_text, remaining=templates.remaining, scoped=scope() is not None,
        usage=templates_view.usage(g.db), f=f or {},
        editing=editing, describe=templates.describe, kinds=labels.COUPON_KINDS,
        tiers=[(t, labels.tier_name(t)) for t in tiers.LADDER], issue_key=secrets.token_hex(12),
        issuing=[t for t in listed.rows if t.active and templates.remaining(t) != 0]), status


@bp.route("/coupons")
def coupon_list():
    return _page()


@bp.route("/coupons", methods=["POST"])
def coupon_template_create():
    try:
        t = templates.add(g.db, _spec(request.form), g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
        return _page(f=request.form, status=400, picked=request.form.getlist("stores"))
    flash(f"券模板「{t.name}」（{templates.describe(t)}）已创建，可以发放。", "ok")
    return redirect(url_for("admin.coupon_list"))


@bp.route("/coupons/<int:template_id>", methods=["GET", "POST"])
def coupon_template_edit(template_id: int):
    t = templates.by_id(g.db, template_id)
    if t is None:
        return render_template("admin/error.html", title="优惠券",
                               message=templates.UnknownTemplate.user_message), 404
    if request.method == "GET":
        return _page(f=_form_values(t), editing=t,
                     picked=templates_view.store_ids_of(g.db, template_id))
    try:
        t = templates.update(g.db, template_id, _spec(request.form), g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
        return _page(f=request.form, editing=t, status=400,
                     picked=request.form.getlist("stores"))
    flash(f"券模板「{t.name}」已修改：{templates.describe(t)}。", "ok")
    return redirect(url_for("admin.coupon_list"))


@bp.route("/coupons/<int:template_id>/active", methods=["POST"])
def coupon_template_active(template_id: int):
    active = request.form.get("active") == "1"
    t = templates.set_active(g.db, template_id, active, g.operator.username)
    flash(f"券模板「{t.name}」已{'恢复' if active else '停止'}发放"
          f"{'' if active else '；已发出的券在有效期内仍可使用'}。", "ok")
    return redirect(url_for("admin.coupon_list"))


@bp.route("/coupons/<int:template_id>/limit", methods=["POST"])
def coupon_template_limit(template_id: int):
    """The 发放总量 of a template, also once members hold it (never below what it issued)."""
    try:
        t = stock.set_limit(g.db, template_id, _limit(request.form.get("stock_limit", "")),
                            g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"券模板「{t.name}」的发放总量已改为"
              f"{f'{t.stock_limit} 张' if t.stock_limit is not None else '不限量'}"
              f"（已发 {t.issued_count} 张）。", "ok")
    return redirect(url_for("admin.coupon_list"))


@bp.route("/coupons/issue", methods=["POST"])
def coupon_issue():
    form = request.form
    try:
        template = form.get("template_id", "")
        if not template.isdigit():
            raise templates.UnknownTemplate("no template chosen", user_message="请选择券模板。")
        card = member_admin.card_of(g.db, form.get("member", ""))
        coupon = wallet.issue(g.db, card, int(template), form.get("key", ""),
                              g.operator.username, form.get("note", "").strip() or None)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"已发券，券码 {coupon.code}。" if coupon else "这张券已发过，未重复发放。", "ok")
    return redirect(url_for("admin.coupon_list"))


@bp.route("/coupons/void", methods=["POST"])
def coupon_void():
    try:
        coupon = redeeming.void(g.db, request.form.get("code", ""), request.form.get("note", ""),
                             g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"券 {coupon.code} 已作废。", "ok")
    member_id = request.form.get("member_id", "")  # voided from the member's page: back there
    if member_id.isdigit():
        return redirect(url_for("admin.member_detail", member_id=int(member_id)) + "#coupons")
    return redirect(url_for("admin.coupon_list"))
