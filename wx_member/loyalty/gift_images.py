"""Gift images (积分兑换): an operator uploads a picture of a gift; the app stores it in the
database (`gift_image`, one per gift; no CDN) and serves it at a URL named by the digest of
the stored bytes, so a replaced picture is a new URL and browsers and the mini-program may
cache each for good.

The file is judged by its content, never its name: PNG, JPEG or WebP by their signatures,
the size in pixels read from the header here, before Pillow sees the bytes. Refused: an
empty file, one over MAX_UPLOAD_BYTES, anything else, and a picture over PIXEL_BUDGET
pixels (never decoded). A photo straight off a phone's camera (4000×3000, 3–8 MB, with EXIF)
is taken and made fit (loyalty/picture_fitting.py, Pillow): turned upright by its EXIF
orientation, shrunk to MAX_SIDE pixels a side, its metadata dropped (EXIF with the GPS
position, XMP, comments; the ICC colour profile is kept), encoded again in its own format
(JPEG at quality 85, PNG with its transparency, WebP), and then at most MAX_BYTES (if not,
once more at a lower quality; still over is refused with the reason).

The rule for a picture that is already fit: within MAX_SIDE and MAX_BYTES and holding
nothing but the picture (no EXIF, XMP, comments or text chunks, nothing after its end) it
is stored byte for byte as uploaded (no second loss of a JPEG's quality); anything else is
re-encoded as above. A refused file stores nothing. Not personal: a picture of a product.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from sqlalchemy import select

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Gift, GiftImage
from wx_member.platform import audit
from wx_member.loyalty import picture_fitting
from wx_member.loyalty.gift_catalogue import UnknownGift
from wx_member.loyalty.picture_fitting import InvalidImage

MAX_BYTES = 1_000_000  # 1 MB: what is stored and sent to every member's phone
# Pixels, either side, of what is stored. 1200, not the 2000 it was: the mini-program shows
# a gift at most the phone's width, 390 CSS px at 3 device pixels each (1170 px), so 1200
# is sharp on any phone, and a JPEG of it at quality 85 is 150-400 KB (2000 px: about three
# times that, close to MAX_BYTES for a detailed photo, and nothing more to see).
MAX_SIDE = 1200
MAX_UPLOAD_BYTES = 15_000_000  # 15 MB: a phone photo is 3-8 MB; the console's form takes it
# Pixels (width × height) that may be decoded: 50 MP lets the 48 and 50 MP modes of current
# phones through; decoded as RGBA that is 200 MB at worst (a JPEG is decoded at 1/2 to 1/8
# of its size, far less). Larger, or a small file declaring a huge size (a decompression
# bomb), is refused from its header, never decoded; Pillow's own limit (89 MP) is not reached.
PIXEL_BUDGET = 50_000_000


@dataclass(frozen=True)
class Picture:
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Uploaded:
    """What was stored: its size in pixels, and the upload's (upright) when it was shrunk."""
    gift_id: int
    width: int
    height: int
    digest: str
    shrunk_from: tuple[int, int] | None


def _png(data: bytes) -> Picture | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return Picture("image/png", width, height)


# Start-of-frame markers (baseline, progressive, …): they carry the size. C4, C8 and CC
# share the range but are tables, not frames.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> Picture | None:
    if data[:3] != b"\xff\xd8\xff":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None  # not a marker where one must be: a broken file
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return Picture("image/jpeg", width, height)
        if marker == 0xDA or length < 2:  # image data before any frame header
            return None
        i += 2 + length
    return None


def _webp(data: bytes) -> Picture | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: the key frame's size
        width, height = struct.unpack("<HH", data[26:30])
        return Picture("image/webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14 bits each, minus one
        bits = int.from_bytes(data[21:25], "little")
        return Picture("image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each, minus one
        return Picture("image/webp", int.from_bytes(data[24:27], "little") + 1,
                       int.from_bytes(data[27:30], "little") + 1)
    return None


def inspect(data: bytes) -> Picture:
    """What the bytes are (type and size in pixels, from the header; nothing decoded);
    InvalidImage with the reason in Chinese for anything that is not a PNG, JPEG or WebP
    picture, over MAX_UPLOAD_BYTES or over PIXEL_BUDGET pixels."""
    if not data:
        raise InvalidImage("empty file", user_message="请选择要上传的图片文件。")
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidImage(f"{len(data)} bytes", user_message=(
            f"图片文件超过 {MAX_UPLOAD_BYTES // 1_000_000} MB，未上传；请换一张较小的图片。"))
    picture = _png(data) or _jpeg(data) or _webp(data)
    if picture is None:
        raise InvalidImage("not a PNG, JPEG or WebP picture")
    if picture.width < 1 or picture.height < 1:
        raise InvalidImage("no pixels")
    if picture.width * picture.height > PIXEL_BUDGET:
        raise picture_fitting.too_many_pixels(picture.width, picture.height, PIXEL_BUDGET)
    return picture


def fit(data: bytes) -> tuple[Picture, picture_fitting.Fitted]:
    """The picture to store for these uploaded bytes (see the module's docstring)."""
    picture = inspect(data)
    fitted = picture_fitting.fit(data, picture.content_type, max_side=MAX_SIDE,
                                 max_bytes=MAX_BYTES, pixel_budget=PIXEL_BUDGET)
    return Picture(picture.content_type, fitted.width, fitted.height), fitted


def upload(uow: UnitOfWork, gift_id: int, data: bytes, by: str) -> Uploaded:
    """Use case: store (or replace) a gift's picture, made fit (`fit`), audited
    (`gift.image`). Checked and fitted before anything is written: a refused file changes
    nothing."""
    picture, fitted = fit(data)
    data = fitted.data
    digest = hashlib.sha256(data).hexdigest()
    with uow.write() as session:
        gift = session.get(Gift, gift_id, with_for_update=True)
        if gift is None:
            raise UnknownGift(f"no gift {gift_id}")
        row = session.get(GiftImage, gift_id)
        before = None if row is None else {"image": f"{row.width}×{row.height}"}
        if row is None:
            row = GiftImage(gift_id=gift_id)
            session.add(row)
        row.content_type, row.digest, row.data = picture.content_type, digest, data
        row.width, row.height, row.updated_at, row.updated_by = (
            picture.width, picture.height, utcnow(), by[:60])
        audit.record(session, by, "gift.image", f"gift:{gift_id}", before,
                     {"name": gift.name, "image": f"{picture.width}×{picture.height}"})
        session.flush()
    shrunk = (fitted.width, fitted.height) != fitted.original
    return Uploaded(gift_id, fitted.width, fitted.height, digest,
                    fitted.original if shrunk else None)


def digests(uow: UnitOfWork, gift_ids: list[int]) -> dict[int, str]:
    """Use case (a read): the digest of each of these gifts' pictures (those that have one)."""
    if not gift_ids:
        return {}
    with uow.read() as session:
        return dict(session.execute(select(GiftImage.gift_id, GiftImage.digest)
                                    .where(GiftImage.gift_id.in_(gift_ids))).all())


def picture(uow: UnitOfWork, gift_id: int) -> tuple[str, str, bytes] | None:
    """Use case (a read): (content type, digest, bytes) of a gift's picture, or None."""
    with uow.read() as session:
        row = session.execute(select(GiftImage.content_type, GiftImage.digest, GiftImage.data)
                              .where(GiftImage.gift_id == gift_id)).first()
    return None if row is None else (row.content_type, row.digest, bytes(row.data))
