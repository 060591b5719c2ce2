"""Menu clicks: 查积分, 会员卡, 签到 (once per day in the programme's time zone)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from helpers import balance_and_sum, counts, ledger

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(local: str) -> int:
    return int(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp())


def test_checkin_once_per_local_day(live, sim):
    sim.subscribe("oA", create_time=at("2026-11-24 09:00"))
    first = sim.click("oA", "CHECKIN", create_time=at("2026-11-24 10:00"))
    assert "签到成功" in first.reply["Content"] and "11" in first.reply["Content"]
    again = sim.click("oA", "CHECKIN", create_time=at("2026-11-24 23:59"))
    assert "已经签到" in again.reply["Content"]
    # 00:01 in Shanghai is still the 24th in UTC: a UTC day would wrongly refuse this.
    next_day = sim.click("oA", "CHECKIN", create_time=at("2026-11-25 00:01"))
    assert "签到成功" in next_day.reply["Content"]
    assert [r.reason for r in ledger(live, "oA")] == ["signup", "checkin", "checkin"]
    assert balance_and_sum(live, "oA") == (12, 12)


def test_points_and_card_buttons_reply_in_chinese(live, sim):
    sim.subscribe("oA")
    from helpers import member

    card = member(live, "oA").card_no
    points = sim.click("oA", "POINTS").reply["Content"]
    assert "10" in points and "普通会员" in points
    assert card in sim.click("oA", "CARD").reply["Content"]


def test_click_from_unknown_openid_explains_and_changes_nothing(live, sim):
    r = sim.click("oStranger", "CHECKIN")
    assert r.status == 200 and "还不是会员" in r.reply["Content"]
    assert counts(live) == (0, 0, 0)
