"""money totals as 64-bit integers (PostgreSQL; SQLite's INTEGER is 64-bit already)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = {
    "orders": ("subtotal_cents", "tax_cents", "shipping_cents", "total_cents"),
    "invoices": ("subtotal_cents", "tax_cents", "shipping_cents", "total_cents"),
    "invoice_lines": ("line_total_cents", "tax_cents"),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
