"""Importing a member list (CSV) on SQLite and MariaDB: row checks with Chinese errors, all or
nothing by default, idempotent by openid, existing members updated, not duplicated; the
CLI with its progress bar."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from test_cli import run
from wx_member.models import AuditLog, Member, MemberTag, PointsLedger
from wx_member.members import member_import
from wx_member.members import joining, membership
from wx_member.members.member_import import InvalidImport

GOOD = """openid,phone,birthday,tags
oImp1,13800138000,1990-05-20,VIP 团购
oImp2,,1985/12/01,
oImp3,13900139000,,VIP
"""


def members_by_openid(session) -> dict[str, Member]:
    session.expire_all()
    with session.read():
        return {m.openid: m for m in session.scalars(select(Member))}


def tags(session) -> set[tuple[str, str]]:
    with session.read():
        return {(o, t) for o, t in session.execute(
            select(Member.openid, MemberTag.tag).join(MemberTag, MemberTag.member_id == Member.id))}


def test_import_creates_members_with_cards_and_is_idempotent(session):
    report = member_import.import_file(session, GOOD.encode(), "otto",
                                       now=datetime(2026, 12, 1, 2, 0))
    assert (report.imported, report.rows, report.created, report.updated) == (True, 3, 3, 0)
    got = members_by_openid(session)
    assert set(got) == {"oImp1", "oImp2", "oImp3"}
    one = got["oImp1"]
    assert (one.phone, one.birthday, one.subscribed, one.points_balance) == (
        "13800138000", datetime(1990, 5, 20), True, 0)
    assert all(m.card_no == membership.card_number(m.id) for m in got.values())
    assert got["oImp2"].birthday == datetime(1985, 12, 1) and got["oImp2"].phone is None
    assert tags(session) == {("oImp1", "VIP"), ("oImp1", "团购"), ("oImp3", "VIP")}
    with session.read():
        assert session.scalar(select(func.count()).select_from(PointsLedger)) == 0  # no sign-up
    again = member_import.import_file(session, GOOD.encode(), "otto")
    assert (again.created, again.updated, again.unchanged, again.tags_added) == (0, 0, 3, 0)
    assert {o: m.card_no for o, m in members_by_openid(session).items()} == {
        o: m.card_no for o, m in got.items()}
    with session.read():
        assert session.scalars(select(AuditLog.action)).all() == ["member.import"] * 2


def test_existing_members_keep_their_card_and_get_what_the_file_gives(session):
    with session.write():
        old = joining.join(session, "oOld", now=datetime(2026, 1, 1)).member
        old.phone = "13700000000"
    card = old.card_no
    data = "openid,手机号,生日,标签\noOld,,1992-02-29,老会员\noNew,13600000000,,\n"
    report = member_import.import_file(session, data.encode("gb18030"), "otto")  # Excel's GBK
    assert (report.created, report.updated, report.tags_added) == (1, 1, 1)
    got = members_by_openid(session)
    assert got["oOld"].card_no == card and got["oOld"].phone == "13700000000"  # empty: kept
    assert got["oOld"].birthday == datetime(1992, 2, 29)
    assert got["oOld"].points_balance == 10  # its sign-up points, untouched
    assert tags(session) == {("oOld", "老会员")}


def test_bad_rows_are_reported_in_chinese_and_nothing_is_written(session):
    data = """openid,phone,birthday,tags
oOk1,13800138000,1990-05-20,VIP
bad openid!,123,1990-02-30,好 坏!
oOk1,,,
,13800138000,,
oOk2,,2999-01-01,
oOk3,,,a|b|c|d|e|f|g|h|i|j|k
"""
    report = member_import.import_file(session, data.encode(), "otto")
    assert not report.imported and report.created == 0
    assert report.errors == [
        (3, "openid 格式无效；手机号格式无效；生日须为 YYYY-MM-DD 的有效日期；标签无效：坏!。"),
        (4, "openid 与第 2 行重复。"),
        (5, "手机号与第 2 行重复。"),
        (6, "生日须为 YYYY-MM-DD 的有效日期。"),
        (7, "标签最多 10 个。"),
    ]
    assert members_by_openid(session) == {}
    partial = member_import.import_file(session, data.encode(), "otto", skip_invalid=True)
    assert partial.imported and partial.created == 1 and len(partial.errors) == 5
    assert set(members_by_openid(session)) == {"oOk1"}


@pytest.mark.parametrize("data, message", [
    ("birthday,tags\n1990-01-01,VIP\n", "第 1 行须为列名"),
    ("openid,city\noA,上海\n", "未知的列：city"),
    (b"\xff\xfe\x00o\x00p", "文件编码无法识别"),
])
def test_a_file_without_the_right_header_is_refused(session, data, message):
    with pytest.raises(InvalidImport) as exc:
        member_import.import_file(session, data if isinstance(data, bytes) else data.encode(),
                                  "otto")
    assert message in exc.value.user_message
    assert members_by_openid(session) == {}


def test_large_files_go_in_batches(session, monkeypatch):
    monkeypatch.setattr(member_import, "BATCH", 7)
    lines = ["openid,tags"] + [f"oBulk{i:03d},T{i % 3}" for i in range(30)]
    seen = []
    rows, errors = member_import.parse("\n".join(lines).encode())
    report = member_import.import_rows(session, rows, "otto", progress=seen.append)
    assert errors == [] and seen == [7, 7, 7, 7, 2] and report.created == 30
    assert len(tags(session)) == 30
    with session.read():
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 5


def test_cli_imports_with_a_progress_bar_and_refuses_bad_files(db_url, tmp_path):
    assert run("db", "upgrade", db_url=db_url).returncode == 0
    good = tmp_path / "members.csv"
    good.write_text(GOOD, encoding="utf-8-sig")
    out = run("member", "import", str(good), "--by", "ops", db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert "imported 3 rows: 3 new members, 0 updated, 0 unchanged, 3 tags added" in out.stdout
    assert "importing" in out.stderr  # click's progress bar
    bad = tmp_path / "bad.csv"
    bad.write_text("openid,birthday\noX,1990-13-01\noY,\n", encoding="utf-8")
    out = run("member", "import", str(bad), db_url=db_url)
    assert out.returncode == 1 and "第 2 行：生日须为 YYYY-MM-DD 的有效日期。" in out.stderr
    out = run("member", "import", str(bad), "--skip-invalid", db_url=db_url)
    assert out.returncode == 0 and "1 new members" in out.stdout and "1 bad rows skipped" in out.stdout


def test_existing_members_by_card_number_with_chinese_columns(session):
    member_import.import_file(session, "openid,手机号\noCard1,\noCard2,\n".encode(), "otto")
    with session.read() as s:
        cards = {m.openid: m.card_no for m in s.scalars(select(Member))}
    wrong = cards["oCard2"][:-1] + str((int(cards["oCard2"][-1]) + 1) % 10)
    data = f"卡号,手机号,标签\n{cards['oCard1']},13900001111,常客\n{wrong},,\n89999999995,,\n"
    report = member_import.import_file(session, data.encode(), "otto")
    assert not report.imported
    assert report.errors[0] == (3, "卡号无效（请核对校验位）。")
    assert report.errors[1][0] == 4 and report.errors[1][1] in ("卡号不存在。", "卡号无效（请核对校验位）。")
    report = member_import.import_file(session, data.encode(), "otto", skip_invalid=True)
    assert report.imported and report.created == 0 and report.updated == 1
    with session.read() as s:
        m = s.scalar(select(Member).where(Member.openid == "oCard1"))
        assert m.phone == "13900001111"
        assert [t.tag for t in s.scalars(select(MemberTag).where(MemberTag.member_id == m.id))] == ["常客"]
