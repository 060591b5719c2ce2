"""Signed, expiring tokens for the mini-program API: a member's access token after login
and the short-lived member code a cashier scans. Both are JWTs (HS256) under the one
deployment key `WX_MEMBER_SECRET_KEY`, told apart by their audience, so a member code is
never accepted as an access token nor the other way round.

The token names the member by id only; it says nothing WeChat gave us (the session_key
never leaves the login call). Expiry is checked against `now`, so tests and callers can
reason about time without sleeping.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from wx_member.platform.errors import DomainError

ALGORITHM = "HS256"
ACCESS = "wx-member-api"  # audience of access tokens
MEMBER_CODE = "wx-member-code"  # audience of cashier member codes


class TokenInvalid(DomainError):
    code = "TOKEN_INVALID"
    user_message = "登录状态无效，请重新登录。"


class TokenExpired(TokenInvalid):
    code = "TOKEN_EXPIRED"
    user_message = "登录已过期，请重新登录。"


@dataclass(frozen=True)
class Signed:
    token: str
    expires_at: int  # unix seconds
    ttl: int


def sign(key: str, audience: str, subject: str, ttl: int, now: float | None = None,
         nonce: bool = False) -> Signed:
    """`nonce`: a random `jti` claim, so two tokens issued in one second differ (a
    single-use member code)."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "aud": audience, "iat": issued, "exp": issued + ttl}
    if nonce:
        claims["jti"] = secrets.token_hex(8)
    return Signed(jwt.encode(claims, key, algorithm=ALGORITHM), issued + ttl, ttl)


def verify(key: str, audience: str, token: str, now: float | None = None,
           expired: type[TokenExpired] = TokenExpired,
           invalid: type[TokenInvalid] = TokenInvalid) -> str:
    """The token's subject, or `invalid` (bad signature, other audience, garbage) or
    `expired` (past its `exp`, by `now`)."""
    return str(verified_claims(key, audience, token, now, expired, invalid)["sub"])


def verified_claims(key: str, audience: str, token: str, now: float | None = None,
                    expired: type[TokenExpired] = TokenExpired,
                    invalid: type[TokenInvalid] = TokenInvalid) -> dict:
    """As `verify`, all the claims (sub, iat, exp): what a single-use check keys on."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=audience,
                            options={"verify_exp": False, "require": ["sub", "exp", "iat"]})
    except jwt.InvalidTokenError as exc:
        raise invalid(f"{type(exc).__name__}: {exc}") from None
    if not isinstance(claims["exp"], int) or (time.time() if now is None else now) >= claims["exp"]:
        raise expired("token expired")
    return claims


def issue_access(key: str, member_id: int, ttl: int, now: float | None = None) -> Signed:
    return sign(key, ACCESS, str(member_id), ttl, now)


def member_id_from(key: str, token: str, now: float | None = None) -> int:
    subject = verify(key, ACCESS, token, now)
    if not subject.isdigit():
        raise TokenInvalid("subject is not a member id")
    return int(subject)
