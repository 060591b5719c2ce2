"""`wx-member benefits …`: operators manage tier discounts, member days and price lists."""
from __future__ import annotations

from test_cli import run
from wx_member import migrate


def test_benefits_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    migrate.upgrade(url)
    shown = run("benefits", "show", db_url=url)
    assert shown.returncode == 0, shown.stderr
    assert "银卡会员  95%" in shown.stdout and "银卡会员日：每周二 银卡会员 8折" in shown.stdout
    out = run("benefits", "tier-discount", "gold", "88", "--exclude", "酒水，礼品卡", db_url=url)
    assert out.returncode == 0 and "excluded: 酒水, 礼品卡" in out.stdout
    assert run("benefits", "tier-discount", "gold", "0", db_url=url).returncode == 2
    out = run("benefits", "day-add", "每月8日", "--monthday", "8", "--points", "200", db_url=url)
    assert out.returncode == 0 and "每月8日 全部会员 积分×200%" in out.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,tier,price_fen\nLATTE-M,金卡会员,abc\n", encoding="utf-8")
    out = run("benefits", "prices-import", str(bad), db_url=url)
    assert out.returncode == 2 and "第 2 行：会员价须为整数（分）：abc" in out.stderr
    good = tmp_path / "good.csv"
    good.write_text("\ufeffsku,tier,price_fen\nLATTE-M,金卡会员,2500\n", encoding="utf-8")
    assert "1 prices imported" in run("benefits", "prices-import", str(good), db_url=url).stdout
    assert "price LATTE-M  gold  2500" in run("benefits", "show", db_url=url).stdout


def test_tag_rule_commands(tmp_path):
    url = f"sqlite:///{tmp_path / 't.db'}"
    migrate.upgrade(url)
    out = run("tags", "rule-add", "拿铁爱好者", "--category", "拿铁", db_url=url)
    assert out.returncode == 0 and "拿铁爱好者：90 天内购买品类「拿铁」至少 3 次" in out.stdout
    assert run("tags", "rule-add", "x", db_url=url).returncode == 2
    out = run("tags", "run", db_url=url)
    assert out.returncode == 0 and "拿铁爱好者  +0  -0" in out.stdout
