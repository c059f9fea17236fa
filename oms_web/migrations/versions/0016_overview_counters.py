"""overview at scale: orders and shipping per UTC hour and channel as counters; the backorder index on open lines only

The overview grouped a month of orders by hour and channel on every 5-second poll (215 ms at
1,000,000 orders), and the day's shipments with their lines; the services now keep these counts
in the same transaction as the orders and the shipments.
The backorder index held the short lines of void, draft and held orders too (80,532 entries for
16,536 real backorders at 1,000,000 orders), walked by every stock receipt and by the overview:
each line now carries its order's open state, and the index holds open orders' lines only (with
their numbers, so that the overview's sum of backorders reads the index alone).

Revision ID: 0016
Revises: 0009
Create Date: 2026-11-30 11:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0009'
branch_labels = None
depends_on = None

# Whole hours since 1970-01-01 00:00 UTC of a naive UTC time, as the app computes them
# (oms_web.domain.hourly_counts); written out here so that this migration never changes with the app.
HOUR_OF = {column: {
    "sqlite": f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / 3600",  # whole seconds: strftime rounds
    "postgresql": f"CAST(floor(extract(epoch FROM {column}) / 3600) AS INTEGER)",
} for column in ("created_at", "s.shipped_at")}


OPEN_ORDERS = "SELECT id FROM orders WHERE status = 'finalized' AND hold_reason IS NULL"
# As SQLAlchemy writes OrderLine.waits_for_stock() on each database, so that its planner matches the index.
BACKORDERED = {"sqlite": "allocated < ordered AND order_open = 1", "postgresql": "allocated < ordered AND order_open"}


def upgrade():
    op.create_table('hourly_order_counts',
    sa.Column('utc_hour', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('channel_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('parcels_shipped', sa.Integer(), nullable=False),
    sa.Column('units_shipped', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channels.id'], name=op.f('fk_hourly_order_counts_channel_id_sales_channels')),
    sa.PrimaryKeyConstraint('utc_hour', 'channel_id', name=op.f('pk_hourly_order_counts'))
    )
    created = HOUR_OF["created_at"][op.get_bind().dialect.name]
    shipped = HOUR_OF["s.shipped_at"][op.get_bind().dialect.name]
    op.execute(
        f"INSERT INTO hourly_order_counts (utc_hour, channel_id, orders, parcels_shipped, units_shipped) "
        f"SELECT utc_hour, channel_id, SUM(orders), SUM(parcels), SUM(units) FROM ("
        f" SELECT {created} AS utc_hour, channel_id, COUNT(*) AS orders, 0 AS parcels, 0 AS units"
        f" FROM orders GROUP BY {created}, channel_id"
        f" UNION ALL"
        f" SELECT {shipped}, o.channel_id, 0, COUNT(DISTINCT s.id), SUM(l.quantity)"
        f" FROM shipments s JOIN orders o ON o.id = s.order_id JOIN shipment_lines l ON l.shipment_id = s.id"
        f" WHERE s.status != 'created' AND s.shipped_at IS NOT NULL GROUP BY {shipped}, o.channel_id"
        f") AS counted GROUP BY utc_hour, channel_id")

    dialect = op.get_bind().dialect.name
    # Added in place (no table copy on SQLite): a constant default needs none.
    op.add_column('order_lines', sa.Column('order_open', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE order_lines SET order_open = {'1' if dialect == 'sqlite' else 'true'} "
               f"WHERE order_id IN ({OPEN_ORDERS})")
    op.drop_index('ix_order_lines_backordered', table_name='order_lines')
    op.create_index('ix_order_lines_backordered', 'order_lines',
                    ['product_id', 'order_id', 'ordered', 'allocated', 'order_open'], unique=False,
                    sqlite_where=sa.text(BACKORDERED["sqlite"]), postgresql_where=sa.text(BACKORDERED["postgresql"]))


def downgrade():
    op.drop_index('ix_order_lines_backordered', table_name='order_lines')
    op.create_index('ix_order_lines_backordered', 'order_lines', ['product_id', 'order_id'], unique=False,
                    sqlite_where=sa.text("allocated < ordered"), postgresql_where=sa.text("allocated < ordered"))
    # In place (SQLite 3.35+): a batch copy of order_lines would drop the table its shipment lines refer to.
    op.execute("ALTER TABLE order_lines DROP COLUMN order_open")
    op.drop_table('hourly_order_counts')
