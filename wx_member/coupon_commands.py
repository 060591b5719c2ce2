"""`wx-member coupon …` and `wx-member balance …`: coupon templates, issuing, redeeming and
expiring coupons; stored-value payments and the recharge ladder. Each command parses its
input, calls one service, and prints the result (`--json` for machines)."""
from __future__ import annotations

import json
from datetime import timedelta

import click

from wx_member.cli import _fail, _runtime
from wx_member.clock import day_start


def _echo(data, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text)


def _run(action):
    """Run one use case; a refusal prints its reason (and the member's Chinese message)."""
    from wx_member.platform.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        _fail(f"{exc} ({exc.user_message})")


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
@click.option("--by", default="cli")
@click.option("--json", "as_json", is_flag=True)
def template_add(name, kind, amount_off_fen, percent_off, cap_fen, item, min_spend_fen,
                 min_tier, valid_days, from_day, until_day, by, as_json) -> None:
    """Define a coupon template NAME."""
    from wx_member.coupons import templates as ct

    rt = _runtime()
    tz = rt.config.tz
    spec = ct.TemplateSpec(
        name=name, kind=kind, min_spend_fen=min_spend_fen, amount_off_fen=amount_off_fen,
        percent_off=percent_off, cap_fen=cap_fen, item=item, min_tier=min_tier,
        valid_days=valid_days,
        valid_from=day_start(from_day.date(), tz) if from_day else None,
        valid_until=day_start(until_day.date() + timedelta(days=1), tz)
        if until_day else None)
    with rt.sessions() as session:
        t = _run(lambda: ct.add(session, spec, by))
        _echo(ct.as_dict(t), as_json, f"template {t.id}: {t.name} ({ct.describe(t)})")


@template_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def template_list(as_json: bool) -> None:
    """Every template, active or not."""
    from wx_member.coupons import templates as ct

    with _runtime().sessions() as session:
        rows = [ct.as_dict(t) for t in ct.all_templates(session)]
    def line(r: dict) -> str:
        valid = (f"{r['valid_days']} days" if r["valid_days"]
                 else f"{r['valid_from']}..{r['valid_until']}")
        return (f"{r['id']:>4}  {'active  ' if r['active'] else 'disabled'}  {r['kind_zh']}  "
                f"{r['name']}  ({r['text']}; {valid})")

    _echo(rows, as_json, "\n".join(line(r) for r in rows))


@template_group.command("disable")
@click.argument("template_id", type=int)
def template_disable(template_id: int) -> None:
    """Stop issuing TEMPLATE_ID (coupons already issued stay valid)."""
    from wx_member.coupons import templates as ct

    with _runtime().sessions() as session:
        _run(lambda: ct.set_active(session, template_id, False))
    click.echo(f"template {template_id} disabled")


@template_group.command("enable")
@click.argument("template_id", type=int)
def template_enable(template_id: int) -> None:
    from wx_member.coupons import templates as ct

    with _runtime().sessions() as session:
        _run(lambda: ct.set_active(session, template_id, True))
    click.echo(f"template {template_id} enabled")


@coupon_group.command("issue")
@click.argument("member")
@click.argument("template_id", type=int)
@click.option("--key", required=True, help="once per key: the same key again issues nothing")
@click.option("--note", default="")
@click.option("--by", default="cli")
def coupon_issue(member: str, template_id: int, key: str, note: str, by: str) -> None:
    """Give MEMBER (openid or card number) a coupon of TEMPLATE_ID."""
    from wx_member.coupons import wallet

    with _runtime().sessions() as session:
        c = _run(lambda: wallet.issue(session, member, template_id, key, by, note or None))
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
            _fail(f"member ids must be numbers: {exc}")
    with _runtime().sessions() as session:
        r = _run(lambda: bulk_issue.issue_campaign(session, template_id, key,
                                                         member_ids=ids, min_tier=tier))
    click.echo(f"campaign {key}: issued {r.issued}, already had it {r.already}, "
               f"below tier {r.below_tier}, not members {r.unknown}")


@coupon_group.command("redeem")
@click.argument("code")
@click.option("--member", required=True, help="openid or card number of the holder")
@click.option("--order", "order_no", required=True, help="the order's out_trade_no")
@click.option("--amount", "amount_fen", type=int, required=True, help="order amount, fen")
@click.option("--json", "as_json", is_flag=True)
def coupon_redeem(code, member, order_no, amount_fen, as_json) -> None:
    """Use coupon CODE on an order; prints the discount in fen."""
    from wx_member.coupons import wallet

    with _runtime().sessions() as session:
        r = _run(lambda: wallet.redeem(session, code, member, order_no, amount_fen))
    data = {"code": r.coupon.code, "order_no": order_no, "amount_fen": amount_fen,
            "discount_fen": r.discount_fen, "item": r.item, "replayed": r.replayed}
    _echo(data, as_json, f"{r.coupon.code}: {r.discount_fen} fen off order {order_no}"
          + (f", hand over {r.item}" if r.item else "") + (" (already redeemed)" if r.replayed else ""))


@coupon_group.command("void")
@click.argument("code")
@click.option("--reason", required=True)
@click.option("--by", default="cli")
def coupon_void(code: str, reason: str, by: str) -> None:
    """Withdraw an available coupon."""
    from wx_member.coupons import wallet

    with _runtime().sessions() as session:
        _run(lambda: wallet.void(session, code, reason, by))
    click.echo(f"{code} void")


@coupon_group.command("expire")
def coupon_expire() -> None:
    """Expire every available coupon past its validity (the daily job does this at 00:05)."""
    from wx_member.coupons import wallet

    with _runtime().sessions() as session:
        n = wallet.expire_due(session)
    click.echo(f"expired {n} coupons")


@click.group("balance")
def balance_group() -> None:
    """Stored value (储值): pay from the balance, refund such payments, the recharge ladder."""


@balance_group.command("pay")
@click.argument("member")
@click.argument("amount_fen", type=int)
@click.option("--order", "order_no", required=True, help="the order paid (once per order)")
@click.option("--by", default="cli", help="cashier or channel, kept on the ledger row")
@click.option("--json", "as_json", is_flag=True)
def balance_pay(member: str, amount_fen: int, order_no: str, by: str, as_json: bool) -> None:
    """Pay AMOUNT_FEN of order --order from MEMBER's (openid or card) balance: a purchase
    that earns points and tier spend like a WeChat Pay order."""
    from wx_member.payments import balance_payments

    rt = _runtime()
    with rt.sessions() as session:
        r = _run(lambda: balance_payments.pay(session, member, amount_fen, order_no, by,
                                              tz=rt.config.tz))
    data = {"card_no": r.member.card_no, "order_no": order_no, "amount_fen": amount_fen,
            "balance_fen": r.balance_fen, "points": r.points, "new_tier": r.new_tier,
            "replayed": r.replayed}
    _echo(data, as_json, f"{r.member.card_no}: paid {amount_fen} fen for {order_no}, balance "
          f"{r.balance_fen} fen, {r.points} points" + (" (already paid)" if r.replayed else ""))


@balance_group.command("refund")
@click.argument("order_no")
@click.argument("amount_fen", type=int)
@click.option("--key", "refund_no", required=True,
              help="the refund's number (once per refund; shares WeChat Pay's out_refund_no)")
@click.option("--by", default="cli", help="who refunds, kept on the ledger row")
@click.option("--json", "as_json", is_flag=True)
def balance_refund(order_no: str, amount_fen: int, refund_no: str, by: str,
                   as_json: bool) -> None:
    """Refund AMOUNT_FEN of balance-paid ORDER_NO to the member's balance; points, spend and
    tier are reversed as for a WeChat refund, coupons come back on a full refund."""
    from wx_member.payments import balance_payments

    rt = _runtime()
    with rt.sessions() as session:
        r = _run(lambda: balance_payments.refund(session, order_no, amount_fen, refund_no, by,
                                                 tz=rt.config.tz))
    data = {"card_no": r.member.card_no, "order_no": order_no, "refund_no": refund_no,
            "amount_fen": amount_fen, "balance_fen": r.balance_fen,
            "points_reversed": r.points_reversed, "replayed": r.replayed}
    _echo(data, as_json, f"{r.member.card_no}: refunded {amount_fen} fen of {order_no} to the "
          f"balance ({r.balance_fen} fen), {r.points_reversed} points taken back"
          + (" (already refunded)" if r.replayed else ""))


@balance_group.command("options")
@click.option("--json", "as_json", is_flag=True)
def balance_options(as_json: bool) -> None:
    """The recharge ladder offered to members (充500送50, ...)."""
    from wx_member.payments import stored_value

    with _runtime().sessions() as session:
        rows = [{"amount_fen": o.amount_fen, "bonus_fen": o.bonus_fen,
                 "text": stored_value.option_text(o)} for o in stored_value.options(session)]
    _echo(rows, as_json, "\n".join(f"{r['amount_fen']:>10}  {r['bonus_fen']:>8}  {r['text']}"
                                   for r in rows))


@balance_group.command("option")
@click.argument("amount_fen", type=int)
@click.argument("bonus_fen", type=int)
@click.option("--disable", is_flag=True, help="withdraw this rung")
@click.option("--by", default="cli")
def balance_option(amount_fen: int, bonus_fen: int, disable: bool, by: str) -> None:
    """Add or change the rung: a recharge of at least AMOUNT_FEN earns BONUS_FEN."""
    from wx_member.payments import stored_value

    with _runtime().sessions() as session:
        o = _run(lambda: stored_value.set_option(session, amount_fen, bonus_fen, by,
                                                 active=not disable))
    click.echo(f"{stored_value.option_text(o)}{' (disabled)' if disable else ''}")

