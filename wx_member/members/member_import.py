"""Importing an existing member list (CSV): openid, card number or a phone alone, optional
name, phone, birthday and tags (the file's checks: import_parse.py).

Every row is checked first and every problem is reported in Chinese with its line number;
by default a file with any bad row changes nothing (`skip_invalid` imports the good rows).
Idempotent by openid: a member already here keeps their card, points and history, gets the
name, phone and birthday the file gives (an empty cell leaves the value as it is) and the
tags they lack; importing the same file again changes nothing. Set-based, 500 rows per
transaction: one SELECT of the openids, one INSERT of the new members, one UPDATE of their
card numbers, one SELECT and one UPDATE per set of changed columns of the existing members,
one INSERT of missing tags, an audit row.

Imported members get a card number but no sign-up points or coupon (they are not joining
now). Members with an openid count as following the account (the list is the account's
members; a push to one who no longer follows marks them unreachable, as for anyone).

A row with a phone and neither openid nor card number is a shop's paper or till member: a
member is created with that phone and a card number (one INSERT each: such lists are a
shop's, not the account's), and the file's 积分 and 储值（元） become their opening balances,
each a ledger row (reason `import`, key `import:<phone>`: a phone is credited once). A phone
another member already has is refused for that row. When the person later verifies the same
phone in the mini-program, this member is merged into theirs (`auto_merging.merge_same_phone`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.loyalty import points
from wx_member.models import Member, MemberTag, StoredValueLedger
from wx_member.platform import audit
from wx_member.platform.errors import InvalidAmount
from wx_member.platform.ledger import Ledger
from wx_member.members.import_parse import (  # noqa: F401  (the import's public names)
    MAX_ROWS, ImportRow, InvalidImport, parse)
from wx_member.members.membership import card_number, new_member

BATCH = 500
# The stored-value ledger (payments/stored_value.LEDGER) lives above this area; an opening
# balance is a credit, so its own instance of the primitive, same table and rules, serves.
OPENING_BALANCE = Ledger("stored_value", StoredValueLedger, "delta_fen", "balance_fen",
                         InvalidAmount)


@dataclass
class ImportReport:
    rows: int = 0  # good rows read
    created: int = 0
    updated: int = 0  # existing members whose name, phone or birthday changed
    unchanged: int = 0  # existing members the file changed nothing about (tags aside)
    tags_added: int = 0
    points: int = 0  # opening points given to members created from a phone
    balance_fen: int = 0  # opening stored value given to them
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, Chinese message)
    imported: bool = False  # False: refused because of errors, nothing written


def _phone_taken(card: str | None) -> str:
    return f"该手机号已是会员 {card or ''} 的手机号（请用卡号列更新该会员）。"


def resolve(uow: UnitOfWork, rows: list[ImportRow]
            ) -> tuple[list[ImportRow], list[tuple[int, str]]]:
    """Use case (a read): rows named by card number get their member; a card no member
    holds is an error, and so is a phone-only row whose phone a member already has."""
    by_card = [r for r in rows if r.card_no and not r.openid]
    phones = [r.phone for r in rows if r.phone_only]
    found, held = {}, {}
    with uow.read() as session:
        if by_card:
            found = {c: (i, o) for c, i, o in session.execute(
                select(Member.card_no, Member.id, Member.openid)
                .where(Member.card_no.in_([r.card_no for r in by_card])))}
        if phones:
            held = dict(session.execute(select(Member.phone, Member.card_no)
                                        .where(Member.phone.in_(phones))).all())
    good, errors = [], []
    openid_lines = {r.openid: r.line for r in rows if r.openid}
    for r in rows:
        if r.card_no and not r.openid:
            if r.card_no not in found:
                errors.append((r.line, "卡号不存在。"))
                continue
            r.member_id, openid = found[r.card_no]
            if openid in openid_lines:  # named twice: by openid and by card
                errors.append((r.line, f"与第 {openid_lines[openid]} 行是同一会员。"))
                continue
        elif r.phone_only and r.phone in held:
            errors.append((r.line, _phone_taken(held[r.phone])))
            continue
        good.append(r)
    return good, errors


def import_file(uow: UnitOfWork, data: bytes, by: str, skip_invalid: bool = False,
                now: datetime | None = None) -> ImportReport:
    """Use case (the console's upload): check a CSV member list, import it unless a row is
    bad (or import the good rows with `skip_invalid`)."""
    rows, errors = parse(data)
    rows, unknown = resolve(uow, rows)
    errors = sorted(errors + unknown)
    if errors and not skip_invalid:
        return ImportReport(rows=len(rows), errors=errors)
    report = import_rows(uow, rows, by, now=now)
    report.errors = sorted(errors + report.errors)
    return report


def import_rows(uow: UnitOfWork, rows: list[ImportRow], by: str,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None) -> ImportReport:
    """Use case: import checked rows (from `parse`, `resolve`), BATCH per transaction;
    `progress(n)` is called after each batch with the rows it handled (the CLI's bar)."""
    report = ImportReport(rows=len(rows))
    now = now or utcnow()
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        for attempt in range(2):  # a member who joined meanwhile: read the batch again
            try:
                with uow.write() as session:
                    _import_batch(session, batch, by, now, report)
                break
            except IntegrityError:
                if attempt:
                    raise
        if progress:
            progress(len(batch))
    report.imported = True
    return report


def _birthday(r: ImportRow) -> datetime | None:
    return datetime.combine(r.birthday, datetime.min.time()) if r.birthday else None


def _import_batch(session: Session, batch: list[ImportRow], by: str, now: datetime,
                  report: ImportReport) -> None:
    counts = ImportReport()  # this batch's, added to the report once it commits
    named = [r for r in batch if not r.phone_only]
    for r in batch:
        if r.phone_only:
            r.member_id = None  # a retried batch creates them again
    found = {m.openid: m for m in session.execute(
        select(Member.id, Member.openid).where(Member.openid.in_(
            [r.openid for r in named if r.openid])))}
    new = [r for r in named if r.openid and r.openid not in found]
    ids = {o: m.id for o, m in found.items()}
    if new:
        session.execute(insert(Member), [
            {"openid": r.openid, "phone": r.phone, "name": r.name, "subscribed": True,
             "joined_at": now, "tier": "normal", "points_balance": 0, "total_spend_fen": 0,
             "balance_fen": 0, "birthday": _birthday(r)} for r in new])
        created = dict(session.execute(select(Member.openid, Member.id).where(
            Member.openid.in_([r.openid for r in new]))).all())
        session.execute(update(Member), [{"id": i, "card_no": card_number(i)}
                                         for i in created.values()])
        ids.update(created)
        counts.created = len(new)
    for r in named:
        if r.openid:
            r.member_id = ids[r.openid]
    new_openids = {r.openid for r in new}
    existing = [r for r in named if r.openid not in new_openids]
    _update_existing(session, existing, counts)
    _create_phone_only(session, [r for r in batch if r.phone_only], by, now, counts)
    _add_tags(session, [r for r in batch if r.member_id], by, now, counts)
    audit.record(session, by, "member.import", f"lines {batch[0].line}-{batch[-1].line}", None,
                 {"created": counts.created, "updated": counts.updated,
                  "tags_added": counts.tags_added, "points": counts.points,
                  "balance_fen": counts.balance_fen}, now=now)
    for name in ("created", "updated", "unchanged", "tags_added", "points", "balance_fen"):
        setattr(report, name, getattr(report, name) + getattr(counts, name))
    report.errors += counts.errors


def _update_existing(session: Session, rows: list[ImportRow], counts: ImportReport) -> None:
    """Existing members get the name, phone and birthday the file gives (one UPDATE per set
    of columns changed)."""
    if not rows:
        return
    now_have = {m.id: m for m in session.execute(
        select(Member.id, Member.phone, Member.birthday, Member.name)
        .where(Member.id.in_([r.member_id for r in rows])))}
    changes = []
    for r in rows:
        m = now_have[r.member_id]
        change = {}
        if r.phone and r.phone != m.phone:
            change["phone"] = r.phone
        if r.name and r.name != m.name:
            change["name"] = r.name
        if r.birthday and (m.birthday is None or m.birthday.date() != r.birthday):
            change["birthday"] = _birthday(r)
        if change:
            changes.append({"id": m.id, **change})
    for keys in {tuple(sorted(c)) for c in changes}:
        session.execute(update(Member), [c for c in changes if tuple(sorted(c)) == keys])
    counts.updated = len(changes)
    counts.unchanged = len(now_have) - len(changes)


def _create_phone_only(session: Session, rows: list[ImportRow], by: str, now: datetime,
                       counts: ImportReport) -> None:
    """A member per phone no member has (checked again here, in the writing transaction),
    with the file's points and stored value as ledger rows keyed by the phone."""
    if not rows:
        return
    held = dict(session.execute(select(Member.phone, Member.card_no)
                                .where(Member.phone.in_([r.phone for r in rows]))).all())
    for r in rows:
        if r.phone in held:
            counts.errors.append((r.line, _phone_taken(held[r.phone])))
            continue
        member = new_member(session, now, openid=None, phone=r.phone, name=r.name,
                            birthday=_birthday(r), subscribed=False, tier="normal",
                            total_spend_fen=0, balance_fen=0)
        r.member_id = member.id
        counts.created += 1
        source = f"{by}: 导入"[:100]
        if r.points and points.post(session, member, r.points, "import", f"import:{r.phone}",
                                    source=source, now=now) is not None:
            counts.points += r.points
        if r.balance_fen and OPENING_BALANCE.post(session, member, r.balance_fen, "import",
                                                  f"import:{r.phone}", now,
                                                  source=source) is not None:
            counts.balance_fen += r.balance_fen


def _add_tags(session: Session, rows: list[ImportRow], by: str, now: datetime,
              counts: ImportReport) -> None:
    wanted = {(r.member_id, t) for r in rows for t in r.tags}
    if not wanted:
        return
    have = {(m, t) for m, t in session.execute(
        select(MemberTag.member_id, MemberTag.tag)
        .where(MemberTag.member_id.in_({m for m, _ in wanted})))}
    missing = sorted(wanted - have)
    if missing:
        session.execute(insert(MemberTag), [
            {"member_id": m, "tag": t, "created_by": by[:60], "created_at": now}
            for m, t in missing])
    counts.tags_added = len(missing)
