"""What a member's phone, openid and tag look like when an operator or a file gives them:
the console, CSV import, segments and dry runs check against the same patterns."""
from __future__ import annotations

import re

PHONE_RE = re.compile(r"^\+?\d{5,20}$")
OPENID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
TAG_RE = re.compile(r"^[\w\u4e00-\u9fff\-]{1,20}$")
