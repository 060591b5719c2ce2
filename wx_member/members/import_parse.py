"""Reading a member list (CSV) for `member_import`: the columns an operator's spreadsheet
may use, every row checked, each problem in Chinese with its line number.

A row names its member by openid, by card number (卡号: an existing member) or, with
neither, by a phone number alone: a member the shop kept on paper or in its old till, who
has no WeChat identity here yet (they get one when they join and verify the same phone in
the mini-program: `auto_merging.merge_same_phone`)."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from wx_member.platform.errors import DomainError
from wx_member.members.formats import OPENID_RE, PHONE_RE, TAG_RE, InvalidName, clean_name
from wx_member.members.membership import is_card_number

MAX_ROWS = 200_000
MAX_TAGS = 10
MAX_POINTS = 10_000_000  # opening balances of a phone-only member: a typo guard
MAX_BALANCE_FEN = 100_000_000  # ¥1,000,000
YUAN_RE = re.compile(r"\d{1,9}(\.\d{1,2})?")
# Column names an operator's spreadsheet may use; the console's export can be edited and
# imported back, its read-only columns ignored.
COLUMNS = {"openid": "openid", "phone": "phone", "手机": "phone", "手机号": "phone",
           "birthday": "birthday", "生日": "birthday", "tags": "tags", "标签": "tags",
           "card_no": "card_no", "卡号": "card_no", "会员卡号": "card_no",
           "name": "name", "姓名": "name", "points": "points", "积分": "points",
           "balance": "balance", "储值": "balance", "储值（元）": "balance",
           "储值余额（元）": "balance"}
IGNORED = {"等级", "累计消费（元）", "关注", "入会时间", "渠道"}
TAG_SPLIT = re.compile(r"[\s|;；、,，]+")


class InvalidImport(DomainError):
    code = "INVALID_IMPORT"
    user_message = "导入文件无效。"


@dataclass
class ImportRow:
    line: int
    openid: str  # "" for a row named by card number or by phone alone
    phone: str | None
    birthday: date | None
    tags: list[str]
    card_no: str | None = None
    name: str | None = None
    points: int = 0  # opening balances: given only to a member created from a phone alone
    balance_fen: int = 0
    member_id: int | None = None  # set once the member is known (`resolve`, the import)

    @property
    def phone_only(self) -> bool:
        return not self.openid and not self.card_no


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


def _amounts(values: dict[str, str], problems: list[str]) -> tuple[int, int]:
    """积分 and 储值（元） as points and fen (0 when empty); a problem noted otherwise."""
    points = fen = 0
    text = values.get("points", "").replace(",", "")
    if text:
        if text.isdigit() and int(text) <= MAX_POINTS:
            points = int(text)
        else:
            problems.append(f"积分须为 0 到 {MAX_POINTS:,} 的整数")
    text = values.get("balance", "").lstrip("¥￥").replace(",", "").replace("元", "")
    if text:
        if YUAN_RE.fullmatch(text) and int(Decimal(text) * 100) <= MAX_BALANCE_FEN:
            fen = int(Decimal(text) * 100)
        else:
            problems.append("储值须为金额（元，最多两位小数，如 50 或 12.50）")
    return points, fen


def _header(reader) -> list[str]:
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS and h not in IGNORED]
    names = [COLUMNS.get(h, "") for h in header]
    if unknown or not {"openid", "card_no", "phone"} & set(names):
        raise InvalidImport(f"bad header {header!r}", user_message=(
            "第 1 行须为列名：openid、卡号或手机号（至少一列）、姓名、生日、标签、积分、储值（元）" +
            (f"；未知的列：{'、'.join(unknown)}" if unknown else "") + "。"))
    return names


def parse(data: bytes) -> tuple[list[ImportRow], list[tuple[int, str]]]:
    """Rows and errors (line numbers as a spreadsheet shows them: the header is line 1)."""
    reader = csv.reader(io.StringIO(_decode(data)))
    names = _header(reader)
    rows: list[ImportRow] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}  # openid or card number → line
    # phone → (line, named by phone alone): a member created from a phone must be the only
    # row with that phone (existing members sharing one are the operator's to sort out).
    phones: dict[str, tuple[int, bool]] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidImport("too many rows", user_message=f"每个文件最多 {MAX_ROWS:,} 行。")
        values = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
        problems = []
        openid, card = values.get("openid", ""), values.get("card_no", "") or None
        phone = values.get("phone") or None
        key = openid or card or ""
        if openid:
            if not OPENID_RE.match(openid):
                problems.append("openid 格式无效")
            elif openid in seen:
                problems.append(f"openid 与第 {seen[openid]} 行重复")
        elif card:
            if not is_card_number(card):
                problems.append("卡号无效（请核对校验位）")
            elif card in seen:
                problems.append(f"卡号与第 {seen[card]} 行重复")
        elif not phone:
            problems.append("须填写 openid、卡号或手机号（仅有手机号时新建会员）")
        if phone and not PHONE_RE.match(phone):
            problems.append("手机号格式无效")
        elif phone in phones and (phones[phone][1] or not key):
            problems.append(f"手机号与第 {phones[phone][0]} 行重复")
        birthday = None
        if values.get("birthday"):
            try:
                birthday = _birthday(values["birthday"])
            except ValueError:
                problems.append("生日须为 YYYY-MM-DD 的有效日期")
        name = None
        try:
            name = clean_name(values.get("name"))
        except InvalidName:
            problems.append("姓名无效（最多 30 个字，不含特殊符号）")
        points, fen = _amounts(values, problems)
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
            continue
        if key:
            seen[key] = line
        if phone:
            phones.setdefault(phone, (line, not key))
        rows.append(ImportRow(line, openid, phone, birthday, tags, card, name, points, fen))
    return rows, errors
