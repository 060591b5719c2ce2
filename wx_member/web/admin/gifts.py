"""The gift catalogue (积分兑换): gifts with their points, stock and picture, added,
restocked, retired, a picture uploaded (stored by the app: loyalty/gift_images.py); and
redeeming a gift for a member at the desk (card or phone), once per form."""
from __future__ import annotations

import secrets

from flask import flash, g, redirect, render_template, request, url_for

from wx_member.console import member_admin
from wx_member.loyalty import catalogue_view, gift_catalogue, gift_images
from wx_member.members import lookup_view
from wx_member.platform.errors import DomainError, InvalidAmount
from wx_member.web.admin.blueprint import BODY_LIMITS, bp
from wx_member.web.api.gift_images import url_for_gift


def _whole(text: str, what: str, signed: bool = False) -> int:
    text = (text or "").strip()
    body = text[1:] if signed and text[:1] in "+-" else text
    if not body.isdigit():
        raise InvalidAmount(f"bad {what} {text!r}", user_message=f"{what}须为整数。")
    return int(text)


@bp.route("/gifts")
def gift_list():
    gifts = catalogue_view.gifts(g.db, include_inactive=True)
    digests = gift_images.digests(g.db, [gift.id for gift in gifts])
    return render_template("admin/gifts.html", gifts=gifts, redeem_key=secrets.token_hex(12),
                           images={i: url_for_gift(i, d) for i, d in digests.items()},
                           max_side=gift_images.MAX_SIDE,
                           max_upload_mb=gift_images.MAX_UPLOAD_BYTES // 1_000_000)


# A phone photo straight off the camera (3-8 MB) reaches the route; the form's other
# fields and its multipart framing are a few hundred bytes (64 KB allowed for them).
BODY_LIMITS["admin.gift_image"] = (
    gift_images.MAX_UPLOAD_BYTES + 64 * 1024,
    f"图片文件超过 {gift_images.MAX_UPLOAD_BYTES // 1_000_000} MB，未上传。手机拍的照片可以直接上传"
    "（会自动缩小）；请换一张较小的图片后重试。")


@bp.route("/gifts/<int:gift_id>/image", methods=["POST"])
def gift_image(gift_id: int):
    """A picture for the gift: checked by its content (PNG, JPEG or WebP, ≤ 15 MB), a
    large photo shrunk to fit and its metadata dropped (loyalty/gift_images.py); a refused
    file stores nothing and says why."""
    upload = request.files.get("image")
    try:
        if upload is None or not upload.filename:
            raise gift_images.InvalidImage("no file", user_message="请选择要上传的图片文件。")
        done = gift_images.upload(g.db, gift_id,
                                  upload.read(gift_images.MAX_UPLOAD_BYTES + 1),
                                  g.operator.username)
    except DomainError as exc:
        flash(f"图片未上传：{exc.user_message}", "error")
    else:
        size = f"{done.width}×{done.height}"
        if done.shrunk_from:
            size += "，原图 {}×{} 已自动缩小".format(*done.shrunk_from)
        flash(f"图片已上传（{size}），小程序礼品页即刻显示。", "ok")
    return redirect(url_for("admin.gift_list"))


@bp.route("/gifts", methods=["POST"])
def gift_create():
    try:
        gift = gift_catalogue.add_gift(g.db, request.form.get("name", ""),
                                       _whole(request.form.get("points", ""), "所需积分"),
                                       _whole(request.form.get("stock", ""), "库存"),
                                       by=g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"礼品「{gift.name}」已上架：{gift.points} 积分，库存 {gift.stock}。", "ok")
    return redirect(url_for("admin.gift_list"))


@bp.route("/gifts/<int:gift_id>/stock", methods=["POST"])
def gift_restock(gift_id: int):
    try:
        gift = gift_catalogue.restock(g.db, gift_id, _whole(request.form.get("delta", ""),
                                                            "库存调整", signed=True),
                                      by=g.operator.username)
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash(f"礼品「{gift.name}」库存现为 {gift.stock}。", "ok")
    return redirect(url_for("admin.gift_list"))


@bp.route("/gifts/<int:gift_id>/active", methods=["POST"])
def gift_active(gift_id: int):
    active = request.form.get("active") == "1"
    gift = gift_catalogue.set_gift_active(g.db, gift_id, active, g.operator.username)
    flash(f"礼品「{gift.name}」已{'上架' if active else '下架'}。", "ok")
    return redirect(url_for("admin.gift_list"))


@bp.route("/gifts/redeem", methods=["POST"])
def gift_redeem():
    """At the desk: the member shows their card; points pay for the gift."""
    form = request.form
    try:
        if not form.get("gift_id", "").isdigit():
            raise InvalidAmount("no gift", user_message="请选择礼品。")
        member = lookup_view.find(g.db, member_admin.card_of(g.db, form.get("member", "")))
        done = gift_catalogue.redeem_gift(g.db, member, int(form["gift_id"]),
                                          f"desk:{form.get('key', '')}",
                                          _whole(form.get("quantity", "1"), "数量"))
    except DomainError as exc:
        flash(exc.user_message, "error")
    else:
        flash("该兑换已办理过，未重复扣积分。" if done.replayed else
              f"已为会员 {member.card_no} 兑换，扣除 {done.points} 积分。", "ok")
    return redirect(url_for("admin.gift_list"))
