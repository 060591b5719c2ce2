"""Making an uploaded picture fit to send to every member's phone: the Pillow work behind
gift pictures (loyalty/gift_images.py, which holds the limits and calls `fit`).

This module owns decoding (never before the size in pixels is known to be within the budget:
Pillow's `Image.open` reads only the header, and its decompression-bomb warning and error are
refusals too), turning the picture upright (the EXIF orientation a phone writes instead of
rotating the pixels), shrinking it to fit a side limit, dropping its metadata (EXIF with the
GPS position and the camera, XMP, comments, text chunks: what the phone knew is not sent to
members) and encoding it again in its own format. It also judges, without decoding, whether
a file holds nothing but the picture (`only_pixels`), so one already fit is kept byte for byte.

The ICC colour profile is kept: it is not about anyone (it describes the colours), a few KB,
and without it a phone photo in Display P3 would be shown as if it were sRGB, dull and off.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from wx_member.platform.errors import DomainError

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
JPEG_QUALITY, SECOND_QUALITY = 85, 70  # the second: one more try when the first is too big
# What a malformed or truncated file makes Pillow raise (UnidentifiedImageError is an OSError).
_BROKEN = (OSError, ValueError, SyntaxError, EOFError, IndexError)


class InvalidImage(DomainError):
    code = "INVALID_IMAGE"
    user_message = "图片须为 PNG、JPEG 或 WebP 格式。"


@dataclass(frozen=True)
class Fitted:
    data: bytes
    width: int
    height: int
    original: tuple[int, int]  # the upload's size in pixels, upright
    as_is: bool  # the upload's own bytes (already fit, nothing to strip)


def too_many_pixels(width: int, height: int, budget: int) -> InvalidImage:
    return InvalidImage(f"{width}x{height} px over {budget} px",
                        user_message=f"图片尺寸为 {width}×{height} 像素，超过 {budget // 10_000} 万"
                                     "像素的上限，无法处理；请先缩小后再上传。")


def fit(data: bytes, content_type: str, *, max_side: int, max_bytes: int,
        pixel_budget: int) -> Fitted:
    """The picture to store: the upload itself when it is within max_side and max_bytes and
    holds nothing but the picture (`only_pixels`); else decoded, turned upright, shrunk to
    max_side a side, stripped of metadata and encoded again in its format (JPEG at quality
    85, optimized, progressive; PNG optimized, with its alpha channel; WebP at quality 85,
    lossless if it was). Over max_bytes after that: once more smaller (JPEG and WebP at
    quality 70, PNG as 256 colours with alpha); still over is refused. InvalidImage, with
    the reason in Chinese, for a file Pillow cannot read or over the pixel budget."""
    try:
        # Pillow warns above its own limit (89 MP) and raises above twice it: both refusals.
        # (catch_warnings is process-wide; at worst another thread's warning is raised too.)
        with warnings.catch_warnings(action="error", category=Image.DecompressionBombWarning):
            image = Image.open(io.BytesIO(data), formats=[FORMATS[content_type]])
            width, height = image.size  # from the header: nothing is decoded yet
            if width * height > pixel_budget:
                raise too_many_pixels(width, height, pixel_budget)
            turned = image.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientation
            original = (height, width) if turned else (width, height)
            if (max(width, height) <= max_side and len(data) <= max_bytes
                    and only_pixels(data, content_type)):
                image.load()  # pixels that decode, not only a well-formed header
                return Fitted(data, width, height, original, as_is=True)
            if content_type == "image/jpeg":  # libjpeg decodes at 1/2, 1/4, 1/8: less memory
                image.draft(image.mode, (max_side, max_side))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(str(exc), user_message="图片像素过多，无法处理；请先缩小后再上传。") from exc
    except _BROKEN as exc:
        raise InvalidImage(f"unreadable: {exc}", user_message=(
            "图片无法读取（文件可能已损坏或不完整）；请换一张，或用手机相册导出后再上传。")) from exc
    icc, space = image.info.get("icc_profile"), _space(image.mode)
    lossless = content_type == "image/webp" and b"VP8L" in (only_chunks(data) or [])
    image = _upright_colours(image, content_type)
    if _space(image.mode) != space:  # CMYK or grey made RGB: the profile describes neither
        icc = None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    image.info = {}  # EXIF, XMP, comments, text: nothing the encoders would copy
    out = _encode(image, content_type, icc, lossless, second=False)
    if len(out) > max_bytes:
        out = _encode(image, content_type, icc, lossless, second=True)
    if len(out) > max_bytes:
        raise InvalidImage(f"{len(out)} bytes after fitting", user_message=(
            f"图片缩小到 {image.width}×{image.height} 像素后仍超过 {max_bytes // 1_000_000} MB，"
            "请换一张细节较少的图片，或改用 JPEG 格式。"))
    return Fitted(out, image.width, image.height, original, as_is=False)


def _upright_colours(image: Image.Image, content_type: str) -> Image.Image:
    """Turned by its EXIF orientation, in the mode it will be encoded in: RGB (L for grey)
    for JPEG; RGBA for a PNG or WebP with any transparency (a palette's too), so shrinking
    blends the edges and the alpha channel stays; else RGB or L."""
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):  # 16-bit grey: its top 8 bits (converting clips white)
        image = image.convert("I").point(lambda v: v / 256)
    grey = image.mode in ("1", "L", "I")
    if content_type != "image/jpeg" and (
            "A" in image.mode or "a" in image.mode or "transparency" in image.info):
        return image.convert("RGBA")
    return image.convert("L" if grey else "RGB")


def _space(mode: str) -> str:
    return "CMYK" if mode == "CMYK" else "L" if Image.getmodebase(mode) == "L" else "RGB"


def _encode(image: Image.Image, content_type: str, icc: bytes | None, lossless: bool,
            second: bool) -> bytes:
    out = io.BytesIO()
    quality = SECOND_QUALITY if second else JPEG_QUALITY
    if content_type == "image/jpeg":
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True,
                   icc_profile=icc)
    elif content_type == "image/png":
        if second:  # 256 colours, transparency included: a quarter of RGBA's bytes or less
            image = image.quantize(256, method=Image.Quantize.FASTOCTREE)
        image.save(out, "PNG", optimize=True, icc_profile=icc)
    else:
        image.save(out, "WEBP", quality=quality, lossless=lossless and not second, method=4,
                   icc_profile=icc)
    return out.getvalue()


# What a file may hold and still be stored as is: the picture and its colour profile, and
# nothing about where, when or with what it was taken. PNG and WebP chunks by name; JPEG
# segments by marker, application segments by their identifier.
_PICTURE_ONLY = {
    "image/png": {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB",
                  b"iCCP", b"sBIT", b"bKGD", b"pHYs"},
    "image/webp": {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ICCP"},
    # tables (DQT, DRI), frames and Huffman tables (C0-CF), scans; JFIF, ICC, Adobe (colours)
    "image/jpeg": {b"\xdb", b"\xdd", b"\xda", b"\xe0JFIF", b"\xe2ICC_PROFILE", b"\xeeAdobe",
                   *(bytes([m]) for m in range(0xC0, 0xD0))},
}


def only_pixels(data: bytes, content_type: str) -> bool:
    """Whether the file holds only the picture (_PICTURE_ONLY) and nothing after its end.
    EXIF (and with it an orientation), XMP, comments, text chunks, a second picture (MPO,
    animation) or trailing bytes: no."""
    parts = only_chunks(data) if content_type != "image/jpeg" else _jpeg_segments(data)
    return parts is not None and set(parts) <= _PICTURE_ONLY[content_type]


def only_chunks(data: bytes) -> list[bytes] | None:
    """A PNG's or WebP's chunk names in order; None if the file does not end where its
    structure says (a PNG at IEND, a WebP at the RIFF size)."""
    names: list[bytes] = []
    if data[:4] == b"RIFF":
        end, i = 8 + int.from_bytes(data[4:8], "little"), 12
        while i + 8 <= end:
            size = int.from_bytes(data[i + 4:i + 8], "little")
            names.append(data[i:i + 4])
            i += 8 + size + (size & 1)
        return names if i == end == len(data) else None
    i = 8
    while i + 8 <= len(data):
        names.append(name := data[i + 4:i + 8])
        i += 12 + int.from_bytes(data[i:i + 4], "big")
        if name == b"IEND":
            return names if i == len(data) else None
    return None


def _jpeg_segments(data: bytes) -> list[bytes] | None:
    """A JPEG's segments (the marker byte; an APPn's followed by its identifier), scans
    skipped; None if it does not end at its EOI marker."""
    names: list[bytes] = []
    i = 2
    while i + 2 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:  # EOI
            return names if i + 2 == len(data) else None
        length = int.from_bytes(data[i + 2:i + 4], "big")
        name = bytes([marker])
        if 0xE0 <= marker <= 0xEF:
            name += data[i + 4:i + 2 + min(length, 16)].split(b"\0")[0]
        names.append(name)
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data: up to a marker that is not 00, RSTn or FF
            while (i := data.find(b"\xff", i)) >= 0 and i + 1 < len(data) and (
                    data[i + 1] == 0 or 0xD0 <= data[i + 1] <= 0xD7 or data[i + 1] == 0xFF):
                i += 1 if data[i + 1] == 0xFF else 2
            if i < 0:
                return None
    return None
