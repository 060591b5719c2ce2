"""Stored value corrected by an operator (储值更正): a shop's mistake at the desk put right,
an amount carried over from an old system, a goodwill credit.

A correction is a `stored_value_ledger` row like every other change of the balance (reason
`correction`, key `correction:<form key>`: the key comes with the console's form, so a
double submit corrects once), with the operator and their reason as its source, and an
audit entry (before → after) in the same transaction. A debit never takes the balance below
zero: the ledger's `WHERE balance_fen >= n` refuses it, and the operator is told the
balance there is. Money that leaves the shop goes back through WeChat Pay
(`recharge_refunds`), not through a correction.

`store_id` (a store-scoped operator's store) narrows the member to those of that store, as
for points adjustments (console/member_admin)."""
from __future__ import annotations

import re

from wx_member.db import UnitOfWork
from wx_member.models import Member
from wx_member.payments import stored_value
from wx_member.payments.stored_value import InsufficientBalance
from wx_member.platform import audit
from wx_member.platform.errors import InvalidAmount, UnknownMember
from wx_member.platform.ledger import lock_member

MAX_CORRECTION_FEN = 1_000_000  # ¥10,000: a typo guard; no single correction moves more
CONFIRM_ABOVE_FEN = 50_000  # ¥500: the console asks before a larger correction
KEY_RE = re.compile(r"[A-Za-z0-9_\-]{8,64}")


def check(delta_fen: object, note: str, key: str) -> None:
    """InvalidAmount (in Chinese) unless the correction is a whole non-zero number of fen
    within the limit, with a reason and the form's key."""
    if (not isinstance(delta_fen, int) or isinstance(delta_fen, bool) or delta_fen == 0
            or abs(delta_fen) > MAX_CORRECTION_FEN):
        raise InvalidAmount(f"bad correction {delta_fen!r}", user_message=(
            f"更正金额须为非零金额（元），且不超过 {MAX_CORRECTION_FEN // 100:,} 元。"))
    if not note.strip():
        raise InvalidAmount("a reason is required", user_message="请填写更正原因。")
    if not KEY_RE.fullmatch(key):
        raise InvalidAmount(f"bad key {key!r}", user_message="表单已失效，请刷新后重试。")


def correct(uow: UnitOfWork, member_id: int, delta_fen: int, note: str, key: str, by: str,
            store_id: int | None = None) -> int | None:
    """Use case: an operator adds to or takes from a member's stored value, with a reason,
    once per form key. Returns the ledger row's id, None for a replay."""
    check(delta_fen, note, key)
    note = note.strip()
    where = Member.id == member_id
    if store_id is not None:
        where = where & (Member.home_store_id == store_id)
    with uow.write() as session:
        member = lock_member(session, where)
        if member is None or member.erased_at is not None:
            raise UnknownMember(f"no member {member_id}", user_message="会员不存在。")
        before = member.balance_fen
        try:
            entry = stored_value.post(session, member, delta_fen, "correction",
                                      f"correction:{key}", source=f"{by}: {note}"[:100])
        except InsufficientBalance:
            raise InsufficientBalance(
                f"member {member.id} has {before} fen, cannot take {-delta_fen}",
                user_message=f"储值余额只有 {before / 100:.2f} 元，不能扣减 "
                             f"{-delta_fen / 100:.2f} 元：余额不能低于零。") from None
        if entry is not None:
            audit.record(session, by, "balance.correct", member.card_no or str(member.id),
                         {"balance_fen": before},
                         {"balance_fen": member.balance_fen, "delta_fen": delta_fen,
                          "reason": note})
    return entry
