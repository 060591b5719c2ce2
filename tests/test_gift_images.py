"""Gift pictures over HTTP: an operator uploads one in the console; the app stores it and
serves it at a URL named by its content with caching headers; the console list and the
mini-program catalogue (`/api/gifts` → image_url) show it. A phone's photo (megabytes,
4000 px, EXIF with GPS and a rotation) is taken: stored upright, shrunk to MAX_SIDE and at
most MAX_BYTES, without its EXIF; a transparent PNG stays transparent. A file that is not a
PNG, JPEG or WebP by its content, a decompression bomb or one over 15 MB is refused in
Chinese and stores nothing."""
from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from api_helpers import ApiClient, add_gift, api_config, mini_sandbox  # noqa: F401
from conftest import serve
from console_helpers import logged_in
from image_helpers import (BLUE, RED, jpeg_header, phone_photo, png, png_bomb, png_broken,
                           transparent_png, webp_lossless_header)

from wx_member.loyalty import gift_images, picture_fitting
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


def served(api, me, gift_id: int) -> tuple[bytes, Image.Image]:
    """The gift's picture as the mini-program fetches it: its bytes and Pillow's reading."""
    (url,) = [g["image_url"] for g in api.get("gifts", me).json()["gifts"] if g["id"] == gift_id]
    res = requests.get(url, timeout=10)
    assert res.status_code == 200
    image = Image.open(io.BytesIO(res.content))
    assert res.headers["Content-Type"] == Image.MIME[image.format]
    return res.content, image


def test_a_phone_photo_is_taken_upright_shrunk_and_without_its_exif(app, mini_sandbox):
    photo = phone_photo()  # 4000×3000 pixels, shown 3000×4000 (EXIF orientation 6)
    assert len(photo) > 3_000_000 and b"PhoneMaker" in photo  # what the old limits refused
    api = ApiClient(app, mini_sandbox)
    me = api.login("oPhoto")
    gift = add_gift(app, "保温杯", 300, 2)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    page = upload(b, gift, photo, name="IMG_0001.JPG", kind="image/jpeg")
    assert "图片已上传（900×1200，原图 3000×4000 已自动缩小）" in page

    data, image = served(api, me, gift)
    assert image.format == "JPEG" and image.size == (900, 1200)  # portrait: turned upright
    assert max(image.size) <= gift_images.MAX_SIDE and len(data) <= gift_images.MAX_BYTES
    assert not image.getexif() and b"Exif" not in data and b"PhoneMaker" not in data
    assert not image.getexif().get_ifd(0x8825)  # no GPS
    rgb = image.convert("RGB")  # the red corner of the pixels is at the top right, upright
    assert _near(rgb.getpixel((850, 50)), RED) and _near(rgb.getpixel((50, 1150)), BLUE)
    with app.session() as s, s.read():
        (row,) = s.query(GiftImage).all()
        assert (row.width, row.height, row.content_type) == (900, 1200, "image/jpeg")


def _near(rgb, want, within: int = 40) -> bool:
    return all(abs(a - b) <= within for a, b in zip(rgb, want))


def test_a_large_transparent_png_is_shrunk_and_stays_transparent(app, mini_sandbox):
    api = ApiClient(app, mini_sandbox)
    me = api.login("oAlpha")
    gift = add_gift(app, "贴纸", 50, 9)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    page = upload(b, gift, transparent_png(3000, 2000))
    assert "图片已上传（1200×800，原图 3000×2000 已自动缩小）" in page
    data, image = served(api, me, gift)
    assert image.format == "PNG" and image.size == (1200, 800)
    assert len(data) <= gift_images.MAX_BYTES
    assert image.mode == "RGBA"
    assert image.getpixel((5, 5))[3] == 0 and image.getpixel((600, 400)) == (*BLUE, 255)


def test_a_small_jpeg_with_exif_is_stored_without_it_at_its_size(app, mini_sandbox):
    """Within the limits, but carrying GPS: encoded again (the rule), not shrunk."""
    small = Image.open(io.BytesIO(phone_photo())).resize((400, 300))
    out = io.BytesIO()
    small.save(out, "JPEG", exif=Image.open(io.BytesIO(phone_photo())).getexif())
    assert b"PhoneMaker" in out.getvalue()
    api = ApiClient(app, mini_sandbox)
    me = api.login("oSmall")
    gift = add_gift(app, "钥匙扣", 30, 9)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    assert "图片已上传（300×400）" in upload(b, gift, out.getvalue(), kind="image/jpeg")
    data, image = served(api, me, gift)
    assert image.size == (300, 400) and not image.getexif() and b"PhoneMaker" not in data


@pytest.mark.parametrize("data, reason", [
    (b"GIF89a" + b"\x00" * 100, "图片须为 PNG、JPEG 或 WebP 格式"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "图片须为 PNG、JPEG 或 WebP 格式"),
    (b"not a picture, whatever its name says", "图片须为 PNG、JPEG 或 WebP 格式"),
    (png_bomb(30000, 30000), "图片尺寸为 30000×30000 像素，超过 5000 万像素的上限"),
    (png_bomb(8000, 7000), "超过 5000 万像素的上限"),
    (jpeg_header(1200, 4000), "图片无法读取"),  # a frame header and no picture
    (png_broken(64, 48), "图片无法读取"),  # small enough to keep as is, but it does not decode
    (b"\xff\xd8\xff" + b"\x00" * gift_images.MAX_UPLOAD_BYTES, "图片文件超过 15 MB"),
    (b"", "请选择要上传的图片文件"),
], ids=["gif", "svg", "text", "bomb", "over-pixel-budget", "broken-jpeg", "broken-png",
        "over-15mb", "empty"])
def test_a_bad_file_is_refused_in_chinese_and_nothing_is_stored(app, data, reason):
    gift = add_gift(app, "保温杯", 300, 2)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    page = upload(b, gift, data, name="photo.jpg", kind="image/jpeg")
    assert "图片未上传" in page and reason in page, page.split("<main>")[1][:400]
    with app.session() as s, s.read():
        assert s.query(GiftImage).count() == 0
        assert s.query(AuditLog).filter_by(action="gift.image").count() == 0


def test_a_body_over_the_upload_limit_is_refused_with_the_limit(app):
    gift = add_gift(app, "保温杯", 300, 2)
    b = logged_in(app, "ops", "operator")
    b.get("/admin/gifts")
    big = b"\xff\xd8\xff" + b"\x00" * (gift_images.MAX_UPLOAD_BYTES + 200_000)
    res = b.post(f"/admin/gifts/{gift}/image", files={"image": ("huge.jpg", big, "image/jpeg")})
    assert res.status_code == 413
    assert "文件过大" in res.text and "图片文件超过 15 MB，未上传" in res.text
    with app.session() as s, s.read():
        assert s.query(GiftImage).count() == 0


def test_pillow_s_own_bomb_check_is_a_refusal_too():
    """Past our pixel budget (raised here), Pillow refuses 30000×30000 itself: not a 500."""
    with pytest.raises(gift_images.InvalidImage) as refused:
        picture_fitting.fit(png_bomb(30000, 30000), "image/png", max_side=1200,
                            max_bytes=10**6, pixel_budget=10**12)
    assert refused.value.user_message == "图片像素过多，无法处理；请先缩小后再上传。"


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
