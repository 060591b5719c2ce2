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

