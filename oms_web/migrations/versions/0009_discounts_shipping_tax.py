"""discounts, shipping tax and tax-inclusive prices on orders and invoices

Channels charge discounts, shipping tax and per-line tax that the orders dropped, so an order's total
could differ from the channel's. Existing orders keep today's figures: no discount, no shipping tax,
tax added to the prices, and their lines' tax from the line's rate (order_lines.tax_cents NULL).

Revision ID: 0009
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None

MONEY_TOTAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money(name: str) -> sa.Column:
    return sa.Column(name, MONEY_TOTAL, nullable=False, server_default="0")


def upgrade():
    with op.batch_alter_table("orders") as batch:
        batch.add_column(_money("discount_cents"))
        batch.add_column(_money("shipping_tax_cents"))
        batch.add_column(sa.Column("tax_included", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(_money("discount_cents"))
        batch.add_column(sa.Column("tax_cents", MONEY_TOTAL, nullable=True))
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(_money("discount_cents"))
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(_money("discount_cents"))


def downgrade():
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("discount_cents")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("discount_cents")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("tax_cents")
        batch.drop_column("discount_cents")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tax_included")
        batch.drop_column("shipping_tax_cents")
        batch.drop_column("discount_cents")
