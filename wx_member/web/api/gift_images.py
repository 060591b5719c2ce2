"""Gift pictures, served by the app (no CDN) at `/api/gift-images/<gift id>/<digest>`:
public (the mini-program's <image> sends no token; a picture of a product is not personal),
named by the picture's digest, so each URL's bytes never change and may be cached for a
year; a URL whose digest is no longer the gift's picture answers 404, so a stale link
never shows another picture."""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, request, url_for

from wx_member.loyalty import gift_images

bp = Blueprint("gift_images", __name__)
YEAR = 365 * 24 * 3600


def url_for_gift(gift_id: int, digest: str | None) -> str | None:
    """The picture's absolute URL (None: no picture): the first 128 bits of its sha256."""
    if not digest:
        return None
    return url_for("gift_images.picture", gift_id=gift_id, digest=digest[:32], _external=True)


@bp.get("/api/gift-images/<int:gift_id>/<digest>")
def picture(gift_id: int, digest: str):
    found = gift_images.picture(g.db, gift_id)
    if found is None or not found[1].startswith(digest) or len(digest) != 32:
        abort(404)
    content_type, full, data = found
    etag = f'"{full[:32]}"'
    headers = {"Cache-Control": f"public, max-age={YEAR}, immutable", "ETag": etag,
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    return Response(data, content_type=content_type, headers=headers)
