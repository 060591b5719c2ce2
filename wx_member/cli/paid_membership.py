"""`wx-member membership product add|list|disable`: 付费会员 products (a tier for N days,
sold through WeChat Pay in the mini-program)."""
from __future__ import annotations

from dataclasses import asdict

import click

from wx_member.cli.common import echo, run, runtime


@click.group("membership")
def membership_group() -> None:
    """付费会员: paid membership products."""


@membership_group.group("product")
def product_group() -> None:
    """Paid membership products: add, list, disable."""


def _line(p) -> str:
    return (f"#{p.id} {p.name}: {p.tier_zh} {p.days} days, {p.price_fen / 100:.2f} yuan"
            + ("" if p.active else " (disabled)"))


@product_group.command("add")
@click.option("--name", required=True, help="shown to members, e.g. 金卡年卡")
@click.option("--tier", required=True, help="silver | gold | diamond")
@click.option("--days", required=True, type=int)
@click.option("--price-fen", required=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def product_add(name: str, tier: str, days: int, price_fen: int, as_json: bool) -> None:
    """Put a product on sale."""
    from wx_member.payments import paid_memberships

    with runtime().sessions() as uow:
        p = run(lambda: paid_memberships.add_product(uow, name=name, tier=tier, days=days,
                                                     price_fen=price_fen))
    echo(asdict(p), as_json, "added " + _line(p))


@product_group.command("list")
@click.option("--all", "everything", is_flag=True, help="disabled products too")
@click.option("--json", "as_json", is_flag=True)
def product_list(everything: bool, as_json: bool) -> None:
    """The products on sale (--all: disabled ones too)."""
    from wx_member.payments import paid_memberships

    with runtime().sessions() as uow:
        ps = run(lambda: paid_memberships.products(uow, active_only=not everything))
    echo([asdict(p) for p in ps], as_json, "\n".join(_line(p) for p in ps) or "no products")


@product_group.command("disable")
@click.argument("product_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def product_disable(product_id: int, as_json: bool) -> None:
    """Withdraw PRODUCT_ID from sale (purchases already made keep their period)."""
    from wx_member.payments import paid_memberships

    with runtime().sessions() as uow:
        p = run(lambda: paid_memberships.disable_product(uow, product_id))
    echo(asdict(p), as_json, "disabled " + _line(p))


@membership_group.command("refund")
@click.argument("out_trade_no")
@click.option("--reason", default="", help="shown to the payer by WeChat Pay")
@click.option("--by", default="cli", help="who refunds, kept on the purchase")
@click.option("--json", "as_json", is_flag=True)
def membership_refund(out_trade_no: str, reason: str, by: str, as_json: bool) -> None:
    """Refund paid membership OUT_TRADE_NO through WeChat Pay, pro rata by its unused whole
    days (setting paid_membership_refund = prorata; never: refused). The unused days leave
    the member's paid tier; their tier is recomputed."""
    from wx_member.cli.common import fail
    from wx_member.payments import membership_refunds

    rt = runtime()
    if rt.wxpay is None:
        fail("WeChat Pay's merchant API is not configured (WXPAY_PRIVATE_KEY, "
             "WXPAY_CERT_SERIAL, WXPAY_NOTIFY_URL)")
    with rt.sessions() as uow:
        r = run(lambda: membership_refunds.refund_membership(uow, rt.wxpay, out_trade_no, by=by,
                                                             reason=reason, tz=rt.config.tz))
    data = {**asdict(r), "paid_ends_at": r.paid_ends_at.isoformat() + "Z"
            if r.paid_ends_at else None}
    echo(data, as_json, f"refund {r.out_refund_no} of {out_trade_no}: {r.refund_fen} fen for "
         f"{r.unused_days} unused days; tier {r.tier}; {r.status}")
