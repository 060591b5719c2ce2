"""`wx-member coupon …`: coupon templates, issuing, redeeming and expiring coupons. Each
command parses its input, calls one use case, and prints the result (`--json` for machines)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import click

from wx_member.cli.common import echo, fail, parse_date, run, runtime
from wx_member.clock import day_start


@click.group("coupon")
def coupon_group() -> None:
    """Coupons: templates, issuing, redeeming, expiry."""


@coupon_group.group("template")
def template_group() -> None:
    """Coupon templates (满减, 折扣, 兑换)."""


@template_group.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(["amount_off", "percent_off", "item"]), required=True,
              help="amount_off 满减, percent_off 折扣, item 兑换")
@click.option("--off", "amount_off_fen", type=int, help="amount_off: fen off")
@click.option("--percent", "percent_off", type=int, help="percent_off: percent off (20 = 8折)")
@click.option("--cap", "cap_fen", type=int, help="percent_off: the most it takes off, fen")
@click.option("--item", help="item: what the coupon is exchanged for")
@click.option("--min-spend", "min_spend_fen", type=int, default=0, show_default=True,
              help="minimum order amount, fen")
@click.option("--tier", "min_tier", type=click.Choice(["normal", "silver", "gold", "diamond"]),
              help="only members of this tier or above")
@click.option("--days", "valid_days", type=int, help="valid N days (×24 h) from issue")
@click.option("--from", "from_day", type=click.DateTime(["%Y-%m-%d"]),
              help="fixed window: first local day")
@click.option("--until", "until_day", type=click.DateTime(["%Y-%m-%d"]),
              help="fixed window: last local day (inclusive)")
@click.option("--store", "store_codes", multiple=True,
              help="usable only in this store (code; repeat for several); none: every store")
@click.option("--limit", "stock_limit", type=int,
              help="at most this many coupons issued in all (default: unlimited)")
@click.option("--by", default="cli")
@click.option("--json", "as_json", is_flag=True)
def template_add(name, kind, amount_off_fen, percent_off, cap_fen, item, min_spend_fen,
                 min_tier, valid_days, from_day, until_day, store_codes, stock_limit, by,
                 as_json) -> None:
    """Define a coupon template NAME."""
    from wx_member.coupons import templates as ct

    rt = runtime()
    tz = rt.config.tz
    with rt.sessions() as uow:
        stores = run(lambda: ct.store_ids(uow, list(store_codes))) if store_codes else ()
        spec = ct.TemplateSpec(
            name=name, kind=kind, min_spend_fen=min_spend_fen, amount_off_fen=amount_off_fen,
            percent_off=percent_off, cap_fen=cap_fen, item=item, min_tier=min_tier,
            valid_days=valid_days,
            valid_from=day_start(from_day.date(), tz) if from_day else None,
            valid_until=day_start(until_day.date() + timedelta(days=1), tz)
            if until_day else None, stock_limit=stock_limit, store_ids=stores)
        t = run(lambda: ct.add(uow, spec, by))
    echo(ct.as_dict(t), as_json, f"template {t.id}: {t.name} ({ct.describe(t)})")


@template_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def template_list(as_json: bool) -> None:
    """Every template, active or not."""
    from wx_member.coupons import templates_view

    with runtime().sessions() as uow:
        rows = templates_view.all_templates(uow)

    def line(r: dict) -> str:
        valid = (f"{r['valid_days']} days" if r["valid_days"]
                 else f"{r['valid_from']}..{r['valid_until']}")
        stock = (f"issued {r['issued']}/{r['stock_limit']}, {r['remaining']} left"
                 if r["stock_limit"] is not None else f"issued {r['issued']}, unlimited")
        stores = ",".join(s["code"] for s in r["stores"]) or "every store"
        return (f"{r['id']:>4}  {'active  ' if r['active'] else 'disabled'}  {r['kind_zh']}  "
                f"{r['name']}  ({r['text']}; {valid}; {stores}; {stock})")

    echo(rows, as_json, "\n".join(line(r) for r in rows))


@template_group.command("disable")
@click.argument("template_id", type=int)
def template_disable(template_id: int) -> None:
    """Stop issuing TEMPLATE_ID (coupons already issued stay valid)."""
    from wx_member.coupons import templates as ct

    with runtime().sessions() as uow:
        run(lambda: ct.set_active(uow, template_id, False))
    click.echo(f"template {template_id} disabled")


@template_group.command("enable")
@click.argument("template_id", type=int)
def template_enable(template_id: int) -> None:
    """Issue TEMPLATE_ID again."""
    from wx_member.coupons import templates as ct

    with runtime().sessions() as uow:
        run(lambda: ct.set_active(uow, template_id, True))
    click.echo(f"template {template_id} enabled")


@template_group.command("limit")
@click.argument("template_id", type=int)
@click.argument("limit")
@click.option("--by", default="cli")
def template_limit(template_id: int, limit: str, by: str) -> None:
    """Let TEMPLATE_ID issue at most LIMIT coupons in all (`none`: unlimited); never less
    than it has issued."""
    from wx_member.coupons import stock

    if limit.lower() != "none" and not limit.isdigit():
        fail("LIMIT must be a whole number or 'none'")
    value = None if limit.lower() == "none" else int(limit)
    with runtime().sessions() as uow:
        t = run(lambda: stock.set_limit(uow, template_id, value, by))
    click.echo(f"template {template_id}: issued {t.issued_count}, limit "
               f"{t.stock_limit if t.stock_limit is not None else 'none'}")


@coupon_group.command("issue")
@click.argument("member")
@click.argument("template_id", type=int)
@click.option("--key", required=True, help="once per key: the same key again issues nothing")
@click.option("--note", default="")
@click.option("--by", default="cli")
def coupon_issue(member: str, template_id: int, key: str, note: str, by: str) -> None:
    """Give MEMBER (openid or card number) a coupon of TEMPLATE_ID."""
    from wx_member.coupons import wallet

    with runtime().sessions() as uow:
        c = run(lambda: wallet.issue(uow, member, template_id, key, by, note or None))
    click.echo(f"issued {c.code}, valid until {c.valid_until}Z" if c
               else f"nothing issued: key {key!r} was issued before")


@coupon_group.command("campaign")
@click.argument("template_id", type=int)
@click.argument("key")
@click.option("--members", default="", help="comma-separated member ids")
@click.option("--file", "ids_file", type=click.File("r"), help="member ids, one per line")
@click.option("--tier", type=click.Choice(["normal", "silver", "gold", "diamond"]),
              help="every member of this tier or above")
def coupon_campaign(template_id: int, key: str, members: str, ids_file, tier) -> None:
    """Issue TEMPLATE_ID to a list of members or a tier, once per member and campaign KEY."""
    from wx_member.coupons import bulk_issue

    ids = None
    if members or ids_file:
        text = members.replace(",", "\n") + "\n" + (ids_file.read() if ids_file else "")
        try:
            ids = [int(x) for x in text.split() if x.strip()]
        except ValueError as exc:
            fail(f"member ids must be numbers: {exc}")
    with runtime().sessions() as uow:
        r = run(lambda: bulk_issue.issue_campaign(uow, template_id, key,
                                                  member_ids=ids, min_tier=tier))
    click.echo(f"campaign {key}: issued {r.issued}, already had it {r.already}, "
               f"below tier {r.below_tier}, not members {r.unknown}, sold out {r.sold_out}")


@coupon_group.command("monthly")
@click.option("--at", "day", callback=parse_date,
              help="run as at the start of this local day: its month's gifts, issued then "
                   "(default: now)")
@click.option("--json", "as_json", is_flag=True)
def coupon_monthly(day, as_json: bool) -> None:
    """每月礼券: give this month's gift of each member's tier to those without it yet (the
    daily job does this at 00:20; once per member and month)."""
    from wx_member.clock import local_day, utcnow
    from wx_member.coupons import bulk_issue

    rt = runtime()
    now = day_start(day, rt.config.tz) if day else utcnow()
    with rt.sessions() as uow:
        r = run(lambda: bulk_issue.issue_monthly_gifts(uow, rt.config.tz, now=now))
    month = local_day(now, rt.config.tz).strftime("%Y-%m")
    echo({"month": month, **asdict(r)}, as_json,
         f"monthly gifts {month}: issued {r.issued}, already had it {r.already}, "
         f"below tier {r.below_tier}, sold out {r.sold_out}")


@coupon_group.command("redeem")
@click.argument("code")
@click.option("--member", required=True, help="openid or card number of the holder")
@click.option("--order", "order_no", required=True, help="the order's out_trade_no")
@click.option("--amount", "amount_fen", type=int, required=True, help="order amount, fen")
@click.option("--store", "store_code", help="the store's code (a store-limited coupon needs it)")
@click.option("--json", "as_json", is_flag=True)
def coupon_redeem(code, member, order_no, amount_fen, store_code, as_json) -> None:
    """Use coupon CODE on an order; prints the discount in fen."""
    from wx_member.coupons import redeeming, templates

    with runtime().sessions() as uow:
        store = run(lambda: templates.store_ids(uow, [store_code]))[0] if store_code else None
        r = run(lambda: redeeming.redeem(uow, code, member, order_no, amount_fen,
                                         store_id=store))
    data = {"code": r.coupon.code, "order_no": order_no, "amount_fen": amount_fen,
            "discount_fen": r.discount_fen, "item": r.item, "replayed": r.replayed}
    echo(data, as_json, f"{r.coupon.code}: {r.discount_fen} fen off order {order_no}"
         + (f", hand over {r.item}" if r.item else "") + (" (already redeemed)" if r.replayed else ""))


@coupon_group.command("void")
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--by", default="cli")
def coupon_void(code: str, reason: str, by: str) -> None:
    """Withdraw an available coupon."""
    from wx_member.coupons import redeeming

    with runtime().sessions() as uow:
        run(lambda: redeeming.void(uow, code, reason, by))
    click.echo(f"{code} void")


@coupon_group.command("expire")
def coupon_expire() -> None:
    """Expire every available coupon past its validity (the daily job does this at 00:05)."""
    from wx_member.coupons import redeeming

    with runtime().sessions() as uow:
        n = redeeming.expire_due(uow)
    click.echo(f"expired {n} coupons")
