"""What a member's phone, openid, tag and name look like when an operator or a file gives them:
the console, CSV import, segments and dry runs check against the same patterns."""
from __future__ import annotations

import re

from wx_member.platform.errors import DomainError

PHONE_RE = re.compile(r"^\+?\d{5,20}$")
OPENID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
TAG_RE = re.compile(r"^[\w\u4e00-\u9fff\-]{1,20}$")

NAME_MAX = 30  # characters (member.name is String(30))
# Letters of any script, digits, spaces and the punctuation names carry (·, -, ', .);
# no control characters, no markup.
NAME_RE = re.compile(r"^[\w\u00b7\u30fb\u4e00-\u9fff .'\-]{1,%d}$" % NAME_MAX)


class InvalidName(DomainError):
    code = "NAME_INVALID"
    user_message = f"姓名最多 {NAME_MAX} 个字，只能包含文字、数字、空格和 · - ' . 等符号。"


def clean_name(text: str | None) -> str | None:
    """A typed name as stored: trimmed, inner runs of spaces made one; empty means no name
    (None). InvalidName when too long or holding characters a name does not have."""
    name = " ".join((text or "").split())
    if not name:
        return None
    if not NAME_RE.match(name):
        raise InvalidName(f"bad name {name!r}")
    return name
