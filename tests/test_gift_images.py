"""Gift pictures over HTTP: an operator uploads one in the console; the app stores it and
serves it at a URL named by its content with caching headers; the console list and the
mini-program catalogue (`/api/gifts` → image_url) show it. A file that is not a PNG, JPEG
or WebP by its content, over 1 MB or over 2000 px a side is refused in Chinese and stores
nothing."""
from __future__ import annotations

import pytest
import requests

from api_helpers import ApiClient, add_gift, api_config, mini_sandbox  # noqa: F401
from conftest import serve
from console_helpers import logged_in
from image_helpers import jpeg_header, png, webp_lossless_header

from wx_member.loyalty import gift_images
from wx_member.models import AuditLog, GiftImage


@pytest.fixture
def app(db_url, mini_sandbox):
    yield from serve(api_config(db_url, mini_sandbox, cookie_secure=False))


def upload(b, gift_id: int, data: bytes, name: str = "gift.png", kind: str = "image/png"):
    res = b.post(f"/admin/gifts/{gift_id}/image", files={"image": (name, data, kind)})
    assert res.status_code == 302, res.text[:300]
    return b.get("/admin/gifts").text


def test_an_uploaded_picture_is_served_cached_and_in_the_catalogue(app, mini_sandbox):
    api = ApiClient(app, mini_sandbox)
    me = api.login("oPic")
    mug = add_gift(app, "马克杯", 120, 5)
    add_gift(app, "帆布袋", 60, 3)
    assert [g["image_url"] for g in api.get("gifts", me).json()["gifts"]] == [None, None]
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    page = upload(b, mug, png(64, 48), name="mug.jpg", kind="image/jpeg")  # the name is ignored
    assert "图片已上传（64×48）" in page
    (url,) = [g["image_url"] for g in api.get("gifts", me).json()["gifts"] if g["id"] == mug]
    assert url.startswith(app.url + "api/gift-images/") and f'src="{url}"' in page
    assert [g["image_url"] for g in api.get("gifts", me).json()["gifts"]
            if g["id"] != mug] == [None]

    res = requests.get(url, timeout=10)  # no token: the mini-program's <image> sends none
    assert res.status_code == 200 and res.content == png(64, 48)
    assert res.headers["Content-Type"] == "image/png"
    assert "max-age=31536000" in res.headers["Cache-Control"] and "public" in res.headers["Cache-Control"]
    again = requests.get(url, headers={"If-None-Match": res.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""

    # A new picture is a new URL; the old one no longer answers (never another picture).
    upload(b, mug, png(32, 32, rgb=(0, 0, 255)))
    (new,) = [g["image_url"] for g in api.get("gifts", me).json()["gifts"] if g["id"] == mug]
    assert new != url and requests.get(new, timeout=10).content == png(32, 32, rgb=(0, 0, 255))
    assert requests.get(url, timeout=10).status_code == 404
    audit = b.get("/admin/audit").text
    assert "上传礼品图片" in audit and "图片：64×48 → 32×32" in audit


@pytest.mark.parametrize("data, reason", [
    (b"GIF89a" + b"\x00" * 100, "图片须为 PNG、JPEG 或 WebP 格式"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "图片须为 PNG、JPEG 或 WebP 格式"),
    (png(2001, 10), "请缩小到每边不超过 2000 像素"),
    (jpeg_header(1200, 4000), "4000 像素"),
    (png(10, 10) + b"\x00" * gift_images.MAX_BYTES, "图片超过 1 MB"),
    (b"", "请选择要上传的图片文件"),
], ids=["gif", "svg", "png-too-wide", "jpeg-too-tall", "over-1mb", "empty"])
def test_a_bad_file_is_refused_in_chinese_and_nothing_is_stored(app, data, reason):
    gift = add_gift(app, "保温杯", 300, 2)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    page = upload(b, gift, data, name="photo.png")
    assert "图片未上传" in page and reason in page, page.split("<main>")[1][:400]
    with app.session() as s, s.read():
        assert s.query(GiftImage).count() == 0
        assert s.query(AuditLog).filter_by(action="gift.image").count() == 0


def test_jpeg_and_webp_are_read_by_their_headers():
    assert gift_images.inspect(jpeg_header(800, 600)) == gift_images.Picture("image/jpeg", 800, 600)
    assert gift_images.inspect(webp_lossless_header(300, 200)) == \
        gift_images.Picture("image/webp", 300, 200)
    assert gift_images.inspect(png(1, 2000)).height == 2000


def test_viewers_cannot_upload(app):
    gift = add_gift(app, "雨伞", 200, 1)
    b = logged_in(app, "vera", "viewer")
    b.get("/admin/gifts")
    res = b.post(f"/admin/gifts/{gift}/image", files={"image": ("a.png", png(4, 4), "image/png")})
    assert res.status_code == 403
    with app.session() as s, s.read():
        assert s.query(GiftImage).count() == 0
