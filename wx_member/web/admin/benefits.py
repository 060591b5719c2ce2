"""会员权益: what members pay at the till. Tier discounts (each tier's 折扣 and the
categories it leaves out), member days (a weekday or a day of the month, for one tier or
all, a discount and/or a points multiplier; stopped, never deleted) and the member price
list (by SKU and tier, in yuan; a CSV upload is all or nothing, each bad row's reason shown).
Headquarters only (not in STORE_ENDPOINTS); changes need an admin and ask first; every
change is audited by the use cases (payments/benefits.py, price_lists.py)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from wx_member import labels
from wx_member.loyalty import earn_rules, tiers
from wx_member.payments import benefits, benefits_view, price_lists
from wx_member.platform.errors import DomainError
from wx_member.web.admin import words
from wx_member.web.admin.auth import requires
from wx_member.web.admin.blueprint import bp

MAX_UPLOAD = 1_000_000  # bytes: a price list of tens of thousands of rows


def _whole(text: str, message: str) -> int | None:
    """An optional whole number typed in a form ('' → None); a Chinese refusal otherwise."""
    text = (text or "").strip().rstrip("%％")
    if not text:
        return None
    if not text.isdigit():
        raise benefits.InvalidBenefit(f"not a whole number {text!r}", user_message=message)
    return int(text)


def _page(upload_errors=None, status=200):
    overview = benefits_view.overview(g.db)
    return render_template(
        "admin/benefits.html", discounts=overview["tier_discounts"],
        days=benefits_view.member_days(g.db), prices=benefits_view.price_table(g.db),
        ladder=tiers.LADDER, upload_errors=upload_errors or [], percent_text=words.percent_text,
        weekdays=earn_rules.WEEKDAYS_ZH, day_kinds=labels.MEMBER_DAY_KINDS), status


@bp.route("/benefits")
def benefits_page():
    return _page()


@bp.route("/benefits/tiers/<tier>", methods=["POST"])
@requires("admin")
def tier_discount_save(tier: str):
    form = request.form
    try:
        percent = _whole(form.get("percent", ""), "折扣须为 1–100 的整数（95 表示 9.5折，100 表示不打折）。")
        if percent is None:
            raise benefits.InvalidBenefit("no percent", user_message="请填写折扣（1–100，100 表示不打折）。")
        row = benefits.set_tier_discount(g.db, tier, percent, form.get("excluded", ""),
                                         g.operator.username)
    except DomainError as exc:
        flash(f"{labels.tier_name(tier) if tier in tiers.LADDER else tier}：{exc.user_message}",
              "error")
    else:
        excluded = f"（不参与：{'、'.join(row.excluded_categories)}）" if row.excluded_categories else ""
        flash(f"{labels.tier_name(tier)}的折扣已改为 {words.percent_text(row.percent)}{excluded}，"
              "各门店下一笔起生效。", "ok")
    return redirect(url_for("admin.benefits_page"))


@bp.route("/benefits/days", methods=["POST"])
@requires("admin")
def member_day_add():
    form = request.form
    try:
        kind = form.get("kind", "")
        if kind not in labels.MEMBER_DAY_KINDS:
            raise benefits.InvalidBenefit(f"kind {kind!r}", user_message="请选择会员日类型。")
        day = _whole(form.get("weekday" if kind == "weekday" else "monthday", ""),
                     "每月日期须为 1–31。")
        if day is None:
            raise benefits.InvalidBenefit("no day", user_message="请选择星期几，或填写每月几日。")
        spec = benefits.MemberDaySpec(
            name=form.get("name", ""), kind=kind, day=day, tier=None,
            discount_percent=_whole(form.get("discount", ""), "会员日折扣须为 1–99 的整数（80 表示 8折）。"),
            points_percent=_whole(form.get("points", ""), "积分倍数须为 101–1000 的整数（200 表示双倍）。"),
            excluded=benefits.categories(form.get("excluded", "")))
        rows = benefits.add_member_days(g.db, spec, form.getlist("tiers"), g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"会员日已生效：{'；'.join(benefits.describe_day(row) for row in rows)}。", "ok")
    return redirect(url_for("admin.benefits_page"))


@bp.route("/benefits/days/<int:day_id>/disable", methods=["POST"])
@requires("admin")
def member_day_stop(day_id: int):
    row = benefits.disable_member_day(g.db, day_id, g.operator.username)
    flash(f"会员日「{row.name}」已停用，各门店下一笔起不再优惠。", "ok")
    return redirect(url_for("admin.benefits_page"))


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # UTF-8, or what Excel saves on Chinese Windows
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise benefits.InvalidBenefit("not text", user_message="文件须为 UTF-8 或 GBK 编码的 CSV。")


@bp.route("/benefits/prices", methods=["POST"])
@requires("admin")
def price_upload():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的价目表 CSV 文件。", "error")
        return redirect(url_for("admin.benefits_page"))
    data = upload.read(MAX_UPLOAD + 1)
    try:
        if len(data) > MAX_UPLOAD:
            raise benefits.InvalidBenefit("too large", user_message="文件超过 1 MB，请拆分后上传。")
        result = price_lists.import_prices(g.db, _text(data), g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
        return redirect(url_for("admin.benefits_page"))
    if result.errors:
        flash(f"价目表有 {len(result.errors)} 行错误，未导入任何价格。请修改后重新上传。", "error")
        return _page(upload_errors=result.errors, status=400)
    flash(f"已导入 {result.written} 条会员价，各门店下一笔起生效。", "ok")
    return redirect(url_for("admin.benefits_page"))


@bp.route("/benefits/prices/remove", methods=["POST"])
@requires("admin")
def price_sku_remove():
    sku = request.form.get("sku", "")
    removed = price_lists.remove_sku(g.db, sku, g.operator.username)
    flash(f"商品 {sku.strip()} 已移出价目表（{removed} 个等级的会员价）。" if removed
          else f"价目表中没有商品 {sku.strip()}。", "ok")
    return redirect(url_for("admin.benefits_page"))
