"""WeChat Pay orders we create (issue 14): `jsapi_order`, one row per JSAPI order made for
the mini-program (recharges), written before WeChat Pay is called; the bonus is fixed on it.
`recharge_refund`: refunds of recharges the shop starts, the money held until WeChat Pay's
refund notify completes them.

Revision ID: 0021_wxpay
Revises: 0020_benefits
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0021_wxpay"
down_revision: Union[str, Sequence[str], None] = "0020_benefits"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jsapi_order",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("member.id"), nullable=False),
        sa.Column("appid", sa.String(length=32), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("bonus_fen", sa.BigInteger(), nullable=False),
        sa.Column("option_fen", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.String(length=127), nullable=False),
        sa.Column("attach", sa.String(length=127), nullable=False),
        sa.Column("prepay_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("out_trade_no"),
    )
    op.create_index("ix_jsapi_order_status_created", "jsapi_order", ["status", "created_at"])
    op.create_index("ix_jsapi_order_member_status", "jsapi_order", ["member_id", "status"])
    op.create_table(
        "recharge_refund",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("member.id"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("bonus_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("requested_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("out_refund_no"),
    )
    op.create_index("ix_recharge_refund_out_trade_no", "recharge_refund", ["out_trade_no"])


def downgrade() -> None:
    op.drop_index("ix_recharge_refund_out_trade_no", table_name="recharge_refund")
    op.drop_table("recharge_refund")
    op.drop_index("ix_jsapi_order_member_status", table_name="jsapi_order")
    op.drop_index("ix_jsapi_order_status_created", table_name="jsapi_order")
    op.drop_table("jsapi_order")
