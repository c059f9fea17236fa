"""ship-by deadlines: each order's ship-by (indexed with its segment), each channel's handling days and default carrier and service

The board's work segments sort by ship-by and mark late orders; an order without a marketplace's
date ships by its placed time plus its channel's handling days (2 until an admin says otherwise),
which is what the orders already here get: one UPDATE, in the database.

Revision ID: 0030_shipby
Revises: 0020
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030_shipby'
down_revision = '0020'
branch_labels = None
depends_on = None

HANDLING_DAYS = "(SELECT handling_days FROM sales_channels WHERE sales_channels.id = orders.channel_id)"
# created_at plus the days, in the text SQLAlchemy keeps a SQLite DateTime as ("2026-01-02 10:00:00.123456"):
# the whole seconds moved by date(), the fraction as it was, so that ship-by dates compare as the app's do.
SHIP_BY = {
    "sqlite": f"strftime('%Y-%m-%d %H:%M:%S', created_at, '+' || {HANDLING_DAYS} || ' days') || substr(created_at, 20)",
    "postgresql": f"created_at + {HANDLING_DAYS} * interval '1 day'",
}


def upgrade():
    with op.batch_alter_table('sales_channels') as batch_op:
        batch_op.add_column(sa.Column('handling_days', sa.Integer(), server_default='2', nullable=False))
        batch_op.add_column(sa.Column('default_carrier', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('default_service', sa.String(length=60), nullable=True))
        batch_op.create_check_constraint(op.f('ck_sales_channels_handling_days_in_range'),
                                         'handling_days >= 0 AND handling_days <= 30')
    # Added in place and filled, then made NOT NULL (on SQLite by one copy of the table).
    op.add_column('orders', sa.Column('ship_by', sa.DateTime(), nullable=True))
    op.execute(f"UPDATE orders SET ship_by = {SHIP_BY[op.get_bind().dialect.name]}")
    with op.batch_alter_table('orders') as batch_op:
        batch_op.alter_column('ship_by', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_orders_segment_ship_by', ['segment', 'ship_by', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('orders') as batch_op:
        batch_op.drop_index('ix_orders_segment_ship_by')
        batch_op.drop_column('ship_by')
    with op.batch_alter_table('sales_channels') as batch_op:
        batch_op.drop_constraint(op.f('ck_sales_channels_handling_days_in_range'), type_='check')
        batch_op.drop_column('default_service')
        batch_op.drop_column('default_carrier')
        batch_op.drop_column('handling_days')
