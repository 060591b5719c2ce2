"""Importing an existing member list (CSV): openid or card number, optional phone,
birthday and tags.

Every row is checked first and every problem is reported in Chinese with its line number;
by default a file with any bad row changes nothing (`skip_invalid` imports the good rows).
Idempotent by openid: a member already here keeps their card, points and history, gets the
phone and birthday the file gives (an empty cell leaves the value as it is) and the tags
they lack; importing the same file again changes nothing. Set-based, 500 rows per
transaction: one SELECT of the openids, one INSERT of the new members, one UPDATE of their
card numbers, one UPDATE of changed members, one INSERT of missing tags, an audit row.

Imported members get a card number but no sign-up points or coupon (they are not joining
now), and count as following the account (the list is the account's members; a push to one
who no longer follows marks them unreachable, as for anyone).
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wx_member.clock import utcnow
from wx_member.db import UnitOfWork
from wx_member.models import Member, MemberTag
from wx_member.platform import audit
from wx_member.platform.errors import DomainError
from wx_member.members.formats import OPENID_RE, PHONE_RE, TAG_RE
from wx_member.members.membership import card_number, is_card_number

BATCH = 500
MAX_ROWS = 200_000
MAX_TAGS = 10
# Column names an operator's spreadsheet may use. A row names its member by openid or by
# card number (卡号: an existing member); the console's export can be edited and imported
# back, its read-only columns ignored.
COLUMNS = {"openid": "openid", "phone": "phone", "手机": "phone", "手机号": "phone",
           "birthday": "birthday", "生日": "birthday", "tags": "tags", "标签": "tags",
           "card_no": "card_no", "卡号": "card_no", "会员卡号": "card_no"}
IGNORED = {"等级", "积分", "累计消费（元）", "关注", "入会时间", "渠道"}
TAG_SPLIT = re.compile(r"[\s|;；、,，]+")


class InvalidImport(DomainError):
    code = "INVALID_IMPORT"
    user_message = "导入文件无效。"


@dataclass
class ImportRow:
    line: int
    openid: str  # "" until `resolve` finds the member of `card_no`
    phone: str | None
    birthday: date | None
    tags: list[str]
    card_no: str | None = None


@dataclass
class ImportReport:
    rows: int = 0  # good rows read
    created: int = 0
    updated: int = 0  # existing members whose phone or birthday changed
    unchanged: int = 0  # existing members the file changed nothing about (tags aside)
    tags_added: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, Chinese message)
    imported: bool = False  # False: refused because of errors, nothing written


def _decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB18030: what Excel saves in China."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise InvalidImport("neither UTF-8 nor GB18030",
                                user_message="文件编码无法识别，请另存为 UTF-8 CSV。") from None


def _birthday(text: str) -> date:
    day = datetime.strptime(text.replace("/", "-").replace(".", "-"), "%Y-%m-%d").date()
    if not 1900 <= day.year <= date.today().year:
        raise ValueError(text)
    return day


def parse(data: bytes) -> tuple[list[ImportRow], list[tuple[int, str]]]:
    """Rows and errors (line numbers as a spreadsheet shows them: the header is line 1)."""
    reader = csv.reader(io.StringIO(_decode(data)))
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS and h not in IGNORED]
    names = [COLUMNS.get(h, "") for h in header]
    if unknown or not {"openid", "card_no"} & set(names):
        raise InvalidImport(f"bad header {header!r}", user_message=(
            f"第 1 行须为列名：openid 或 卡号（至少一列）、手机号、生日、标签" +
            (f"；未知的列：{'、'.join(unknown)}" if unknown else "") + "。"))
    rows: list[ImportRow] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidImport("too many rows", user_message=f"每个文件最多 {MAX_ROWS:,} 行。")
        values = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
        problems = []
        openid, card = values.get("openid", ""), values.get("card_no", "") or None
        key = openid or card or ""
        if not openid and card:
            if not is_card_number(card):
                problems.append("卡号无效（请核对校验位）")
            elif card in seen:
                problems.append(f"卡号与第 {seen[card]} 行重复")
        elif not OPENID_RE.match(openid):
            problems.append("openid 格式无效" if "card_no" not in names
                            else "openid 格式无效（或填写卡号）")
        elif openid in seen:
            problems.append(f"openid 与第 {seen[openid]} 行重复")
        phone = values.get("phone") or None
        if phone and not PHONE_RE.match(phone):
            problems.append("手机号格式无效")
        birthday = None
        if values.get("birthday"):
            try:
                birthday = _birthday(values["birthday"])
            except ValueError:
                problems.append("生日须为 YYYY-MM-DD 的有效日期")
        tags = list(dict.fromkeys(t for t in TAG_SPLIT.split(values.get("tags", "")) if t))
        bad_tags = [t for t in tags if not TAG_RE.match(t)]
        if bad_tags:
            problems.append(f"标签无效：{'、'.join(bad_tags)}")
        elif len(tags) > MAX_TAGS:
            problems.append(f"标签最多 {MAX_TAGS} 个")
        if len(cells) > len(names):
            problems.append("列数多于表头")
        if problems:
            errors.append((line, "；".join(problems) + "。"))
        else:
            seen[key] = line
            rows.append(ImportRow(line, openid, phone, birthday, tags, card))
    return rows, errors


def resolve(uow: UnitOfWork, rows: list[ImportRow]
            ) -> tuple[list[ImportRow], list[tuple[int, str]]]:
    """Use case (a read): rows named by card number get their member's openid; a card no
    member holds (or one without an openid, e.g. mini-program only) is an error."""
    by_card = [r for r in rows if not r.openid]
    if not by_card:
        return rows, []
    with uow.read() as session:
        found = dict(session.execute(select(Member.card_no, Member.openid)
                                     .where(Member.card_no.in_([r.card_no for r in by_card]))).all())
    good, errors = [], []
    for r in rows:
        if r.openid:
            good.append(r)
        elif r.card_no not in found:
            errors.append((r.line, "卡号不存在。"))
        elif not found[r.card_no]:
            errors.append((r.line, "该卡号的会员没有公众号 openid，无法按卡号导入。"))
        else:
            r.openid = found[r.card_no]
            good.append(r)
    taken = {}  # an openid named twice (once by openid, once by card)
    for r in list(good):
        if r.openid in taken:
            errors.append((r.line, f"与第 {taken[r.openid]} 行是同一会员。"))
            good.remove(r)
        else:
            taken[r.openid] = r.line
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
    report.errors = errors
    return report


def import_rows(uow: UnitOfWork, rows: list[ImportRow], by: str,
                progress: Callable[[int], None] | None = None,
                now: datetime | None = None) -> ImportReport:
    """Use case: import checked rows (from `parse`), BATCH per transaction; `progress(n)`
    is called after each batch with the rows it handled (the CLI's progress bar)."""
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


def _import_batch(session: Session, batch: list[ImportRow], by: str, now: datetime,
                  report: ImportReport) -> None:
    counts = ImportReport()  # this batch's, added to the report once it commits
    openids = [r.openid for r in batch]
    found = {m.openid: m for m in session.execute(
        select(Member.id, Member.openid, Member.phone, Member.birthday)
        .where(Member.openid.in_(openids)))}
    new = [r for r in batch if r.openid not in found]
    if new:
        session.execute(insert(Member), [
            {"openid": r.openid, "phone": r.phone, "subscribed": True, "joined_at": now,
             "tier": "normal", "points_balance": 0, "total_spend_fen": 0, "balance_fen": 0,
             "birthday": datetime.combine(r.birthday, datetime.min.time()) if r.birthday else None}
            for r in new])
        ids = {o: i for o, i in session.execute(
            select(Member.openid, Member.id).where(Member.openid.in_([r.openid for r in new])))}
        session.execute(update(Member), [{"id": i, "card_no": card_number(i)}
                                         for i in ids.values()])
        counts.created = len(new)
    else:
        ids = {}
    changes = []
    for r in batch:
        m = found.get(r.openid)
        if m is None:
            continue
        ids[r.openid] = m.id
        change = {}
        if r.phone and r.phone != m.phone:
            change["phone"] = r.phone
        if r.birthday and (m.birthday is None or m.birthday.date() != r.birthday):
            change["birthday"] = datetime.combine(r.birthday, datetime.min.time())
        if change:
            changes.append({"id": m.id, **change})
    for keys in {tuple(sorted(c)) for c in changes}:  # one UPDATE per set of columns
        session.execute(update(Member), [c for c in changes if tuple(sorted(c)) == keys])
    counts.updated = len(changes)
    counts.unchanged = len(found) - len(changes)
    wanted = {(ids[r.openid], t) for r in batch for t in r.tags}
    if wanted:
        have = {(m, t) for m, t in session.execute(
            select(MemberTag.member_id, MemberTag.tag)
            .where(MemberTag.member_id.in_({m for m, _ in wanted})))}
        missing = sorted(wanted - have)
        if missing:
            session.execute(insert(MemberTag), [
                {"member_id": m, "tag": t, "created_by": by[:60], "created_at": now}
                for m, t in missing])
        counts.tags_added = len(missing)
    audit.record(session, by, "member.import", f"lines {batch[0].line}-{batch[-1].line}", None,
                 {"created": counts.created, "updated": counts.updated,
                  "tags_added": counts.tags_added}, now=now)
    report.created += counts.created
    report.updated += counts.updated
    report.unchanged += counts.unchanged
    report.tags_added += counts.tags_added
