"""Greeting days: Chinese festivals from the `holidays` package plus the shop's own days.

`holidays.China` computes the lunar festivals (Spring Festival, Dragon Boat, Mid-Autumn)
from its Chinese lunisolar tables, and also lists make-up days off (调休) and observed
days; we take the festival's own date only (the first day named after it), looked up by
its English name, which is stable across the package's translations. 元宵 (lunar 1/15) is
always 14 days after lunar 1/1, so it is derived from the Spring Festival.
Chosen over `lunardate`/`zhdate`: maintained, no lunar arithmetic of our own, and the
official public-holiday list comes with it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import holidays


@dataclass(frozen=True)
class Greeting:
    key: str  # stable: part of the occasion key (with the year)
    name: str  # 春节, as members read it
    greeting: str
    day: date


# holidays' English name → our key, Chinese name, greeting.
FESTIVALS = {
    "New Year's Day": ("new_year", "元旦", "新年新气象"),
    "Chinese New Year (Spring Festival)": ("spring_festival", "春节", "新春大吉"),
    "Dragon Boat Festival": ("dragon_boat", "端午节", "粽香情浓"),
    "Mid-Autumn Festival": ("mid_autumn", "中秋节", "月圆人团圆"),
    "National Day": ("national_day", "国庆节", "举国同庆"),
}


def greetings(year: int, extra: Iterable[Mapping[str, str]] = ()) -> list[Greeting]:
    """The year's greeting days in date order. `extra`: the shop's own days, each
    {key, name, greeting, date: "MM-DD"} (e.g. its anniversary)."""
    found: dict[str, Greeting] = {}
    for day, name in sorted(holidays.China(years=year, language="en_US").items()):
        if name in FESTIVALS and FESTIVALS[name][0] not in found:
            key, zh, text = FESTIVALS[name]
            found[key] = Greeting(key, zh, text, day)
    if "spring_festival" in found:
        found["lantern"] = Greeting("lantern", "元宵节", "花好月圆",
                                    found["spring_festival"].day + timedelta(days=14))
    for item in extra:
        month, day_ = (int(x) for x in item["date"].split("-"))
        found[item["key"]] = Greeting(item["key"], item["name"], item.get("greeting", "感谢有您"),
                                      date(year, month, day_))
    return sorted(found.values(), key=lambda g: g.day)


def on(day: date, extra: Iterable[Mapping[str, str]] = ()) -> list[Greeting]:
    return [g for g in greetings(day.year, extra) if g.day == day]
