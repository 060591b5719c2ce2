"""Pictures made in the test: a PNG any browser draws and the headers of a JPEG and a WebP
of a given size (what the app reads of them), written by hand; a PNG that only declares its
size (a decompression bomb); and with Pillow, a phone's photo (EXIF with GPS and a
rotation) and a transparent PNG."""
from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image, ImageDraw
from PIL.ExifTags import GPS, IFD

RED, BLUE = (230, 20, 20), (20, 40, 230)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png(width: int, height: int, rgb: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """A valid PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(row * height)) + _chunk(b"IEND", b""))


def png_bomb(width: int, height: int) -> bytes:
    """A small PNG that declares width × height pixels (RGBA) and holds a few rows' data:
    decoding it as declared would take width × height × 4 bytes."""
    rows = zlib.compress((b"\x00" + b"\x00" * 4 * width) * 4)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + _chunk(b"IDAT", rows) + _chunk(b"IEND", b""))


def png_broken(width: int, height: int) -> bytes:
    """Well-formed chunks (CRCs right, IEND last) around pixel data that is not a zlib
    stream: only decoding finds it out."""
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", b"\x00" * 64) + _chunk(b"IEND", b""))


@functools.cache
def phone_photo(width: int = 4000, height: int = 3000) -> bytes:
    """A JPEG as a phone's camera writes it: landscape pixels with EXIF orientation 6 (turn
    90° clockwise to show it: the phone was held upright), the camera's make and the GPS
    position; grain, so it weighs what a photo does (several MB). A red block at the
    pixels' top left (after turning: top right), blue at their bottom right."""
    image = Image.blend(Image.linear_gradient("L").resize((width, height)).convert("RGB"),
                        Image.effect_noise((width, height), 60).convert("RGB"), 0.5)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 4, height // 4), fill=RED)
    draw.rectangle((width * 3 // 4, height * 3 // 4, width, height), fill=BLUE)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(IFD.GPSInfo)
    gps.update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (31.0, 14.0, 9.5),
                GPS.GPSLongitudeRef: "E", GPS.GPSLongitude: (121.0, 28.0, 41.2)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def transparent_png(width: int, height: int) -> bytes:
    """RGBA: fully transparent corners around an opaque blue ellipse."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((width // 10, height // 10, width * 9 // 10, height * 9 // 10),
                                  fill=(*BLUE, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, a JFIF APP0 segment, a baseline frame header of that size, EOI."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
            + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9")


def webp_lossless_header(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 8
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
