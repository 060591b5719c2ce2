"""Migration 0029 carries the single birthday rules over to every tier: an operator's
birthday points and coupon before the upgrade are what each tier gives after it (so every
member is given what they were), an unset rule stays unset, and a downgrade puts the
single rule back."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from wx_member import migrate

TIERS = ("normal", "silver", "gold", "diamond")
setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", sa.JSON),
                   sa.column("updated_at", sa.DateTime), sa.column("updated_by", sa.String))


def stored(engine) -> dict:
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(sa.select(setting.c.key, setting.c.value))
                if "birthday" in k}


def test_birthday_rules_move_to_every_tier_and_back(db_url):
    migrate.upgrade(db_url, "0025_paid")
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(setting), [{"key": "birthday_points", "value": 25,
                                               "updated_at": datetime(2026, 11, 1),
                                               "updated_by": "root"}])
        migrate.upgrade(db_url, "0029_loyalty_console")
        assert stored(engine) == {f"tier_{t}_birthday_points": 25 for t in TIERS}
        migrate.downgrade(db_url, "0025_paid")
        assert stored(engine) == {"birthday_points": 25}
    finally:
        engine.dispose()
