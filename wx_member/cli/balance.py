"""`wx-member balance …`: stored value (储值): payments from the balance, their refunds and
the recharge ladder. Each command parses its input, calls one use case, and prints the
result (`--json` for machines)."""
from __future__ import annotations

from dataclasses import asdict

import click

from wx_member.cli.common import echo, run, runtime


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

    rt = runtime()
    with rt.sessions() as uow:
        r = run(lambda: balance_payments.pay(uow, member, amount_fen, order_no, by,
                                             tz=rt.config.tz))
    data = {"card_no": r.member.card_no, "order_no": order_no, "amount_fen": amount_fen,
            "balance_fen": r.balance_fen, "points": r.points, "new_tier": r.new_tier,
            "replayed": r.replayed}
    echo(data, as_json, f"{r.member.card_no}: paid {amount_fen} fen for {order_no}, balance "
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

    rt = runtime()
    with rt.sessions() as uow:
        r = run(lambda: balance_payments.refund(uow, order_no, amount_fen, refund_no, by,
                                                tz=rt.config.tz))
    data = {"card_no": r.member.card_no, "order_no": order_no, "refund_no": refund_no,
            "amount_fen": amount_fen, "balance_fen": r.balance_fen,
            "points_reversed": r.points_reversed, "replayed": r.replayed}
    echo(data, as_json, f"{r.member.card_no}: refunded {amount_fen} fen of {order_no} to the "
         f"balance ({r.balance_fen} fen), {r.points_reversed} points taken back"
         + (" (already refunded)" if r.replayed else ""))


@balance_group.command("options")
@click.option("--json", "as_json", is_flag=True)
def balance_options(as_json: bool) -> None:
    """The recharge ladder offered to members (充500送50, ...)."""
    from wx_member.payments import balance_view

    with runtime().sessions() as uow:
        rows = [asdict(o) for o in balance_view.recharge_choices(uow)]
    echo(rows, as_json, "\n".join(f"{r['amount_fen']:>10}  {r['bonus_fen']:>8}  {r['text']}"
                                  for r in rows))


@balance_group.command("option")
@click.argument("amount_fen", type=int)
@click.argument("bonus_fen", type=int)
@click.option("--disable", is_flag=True, help="withdraw this rung")
@click.option("--by", default="cli")
def balance_option(amount_fen: int, bonus_fen: int, disable: bool, by: str) -> None:
    """Add or change the rung: a recharge of at least AMOUNT_FEN earns BONUS_FEN."""
    from wx_member.payments import stored_value

    with runtime().sessions() as uow:
        o = run(lambda: stored_value.set_option(uow, amount_fen, bonus_fen, by,
                                                active=not disable))
    click.echo(f"{stored_value.option_text(o)}{' (disabled)' if disable else ''}")



@balance_group.command("refund-recharge")
@click.argument("out_trade_no")
@click.option("--amount", "amount_fen", type=int, default=None,
              help="fen to refund (default: all that may go back)")
@click.option("--reason", default="", help="shown to the payer by WeChat Pay")
@click.option("--by", default="cli", help="who refunds, kept on the ledger rows")
@click.option("--json", "as_json", is_flag=True)
def balance_refund_recharge(out_trade_no: str, amount_fen: int | None, reason: str, by: str,
                            as_json: bool) -> None:
    """Refund recharge OUT_TRADE_NO to the payer's WeChat through WeChat Pay: only the
    unspent part, the bonus taken back first. WeChat Pay's refund notify completes it."""
    from wx_member.cli.common import fail
    from wx_member.payments import recharge_refunds

    rt = runtime()
    if rt.wxpay is None:
        fail("WeChat Pay's merchant API is not configured (WXPAY_PRIVATE_KEY, "
             "WXPAY_CERT_SERIAL, WXPAY_NOTIFY_URL)")
    with rt.sessions() as uow:
        r = run(lambda: recharge_refunds.refund_recharge(uow, rt.wxpay, out_trade_no, by=by,
                                                         amount_fen=amount_fen, reason=reason))
    echo(asdict(r), as_json, f"refund {r.out_refund_no} of {out_trade_no}: {r.amount_fen} fen "
         f"to WeChat, bonus {r.bonus_fen} fen taken back, balance {r.balance_fen} fen; "
         f"{r.status} (WeChat Pay's notify completes it)")
