"""Gift images (积分兑换): an operator uploads a picture of a gift; the app stores it in the
database (`gift_image`, one per gift; no CDN) and serves it at a URL named by its digest,
so a replaced picture is a new URL and browsers and the mini-program may cache each for good.

The file is judged by its content, never its name: PNG, JPEG or WebP by their signatures,
the size in pixels read from the header (Pillow is no dependency, and nothing here decodes
the picture), at most MAX_BYTES and MAX_SIDE pixels a side (a phone photo straight off the
camera is refused with the reason, rather than sent to every member's phone at 4000 px).
A refused file stores nothing. Not personal: a picture of a product.
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
from wx_member.platform.errors import DomainError
from wx_member.loyalty.gift_catalogue import UnknownGift

MAX_BYTES = 1_000_000  # 1 MB
MAX_SIDE = 2000  # pixels, either side
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


class InvalidImage(DomainError):
    code = "INVALID_IMAGE"
    user_message = "图片须为 PNG、JPEG 或 WebP 格式。"


@dataclass(frozen=True)
class Picture:
    content_type: str
    width: int
    height: int


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
    """What the bytes are (type and size in pixels); InvalidImage with the reason in
    Chinese for anything that is not a PNG, JPEG or WebP picture of an acceptable size."""
    if not data:
        raise InvalidImage("empty file", user_message="请选择要上传的图片文件。")
    if len(data) > MAX_BYTES:
        raise InvalidImage(f"{len(data)} bytes", user_message="图片超过 1 MB，请压缩后再上传。")
    picture = _png(data) or _jpeg(data) or _webp(data)
    if picture is None:
        raise InvalidImage("not a PNG, JPEG or WebP picture")
    if not (0 < picture.width <= MAX_SIDE and 0 < picture.height <= MAX_SIDE):
        raise InvalidImage(f"{picture.width}x{picture.height} px",
                           user_message=f"图片尺寸为 {picture.width}×{picture.height} 像素，"
                                        f"请缩小到每边不超过 {MAX_SIDE} 像素后再上传。")
    return picture


def upload(uow: UnitOfWork, gift_id: int, data: bytes, by: str) -> GiftImage:
    """Use case: store (or replace) a gift's picture, audited (`gift.image`). Checked
    before anything is written: a refused file changes nothing."""
    picture = inspect(data)
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
        session.expunge(row)
        return row


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
