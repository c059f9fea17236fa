"""locations: stock per (product, location), allocations per location, suppliers, drop-ship lines

Every figure is kept: the existing stock becomes the stock of one location, "Main warehouse", every
allocation and ledger row is that location's, every shipment ships from it.

Revision ID: 0033_locations
Revises: 0032_carriers16
Create Date: 2026-11-30 17:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0033_locations'
down_revision = '0032_carriers16'
branch_labels = None
depends_on = None

_MAIN = "(SELECT id FROM locations WHERE name = 'Main warehouse')"


def upgrade():
    op.create_table(
        'suppliers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('address', sa.String(length=500), nullable=True),
        sa.Column('lead_time_days', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('lead_time_days >= 0 AND lead_time_days <= 365', name=op.f('ck_suppliers_lead_time_in_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
        sa.UniqueConstraint('name', name=op.f('uq_suppliers_name')),
    )
    op.create_table(
        'locations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.Enum('warehouse', 'third_party', 'quarantine', 'drop_ship', name='locationkind',
                                  native_enum=False, length=20, create_constraint=False), nullable=False),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('supplier_id', sa.Integer(), nullable=True),
        sa.Column('ship_from_name', sa.String(length=200), nullable=True),
        sa.Column('line1', sa.String(length=200), nullable=True),
        sa.Column('line2', sa.String(length=200), nullable=True),
        sa.Column('city', sa.String(length=100), nullable=True),
        sa.Column('region', sa.String(length=100), nullable=True),
        sa.Column('postal_code', sa.String(length=20), nullable=True),
        sa.Column('country', sa.String(length=2), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('priority >= 0 AND priority <= 1000', name=op.f('ck_locations_priority_in_range')),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_locations_supplier_id_suppliers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_locations')),
        sa.UniqueConstraint('name', name=op.f('uq_locations_name')),
    )
    op.execute("INSERT INTO locations (name, kind, priority, active, created_at)"
               " VALUES ('Main warehouse', 'warehouse', 100, true, CURRENT_TIMESTAMP)")
    op.create_table(
        'location_stock',
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('in_hand', sa.Integer(), nullable=False),
        sa.Column('committed', sa.Integer(), nullable=False),
        sa.CheckConstraint('committed >= 0 AND committed <= in_hand', name=op.f('ck_location_stock_never_oversold')),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_location_stock_location_id_locations')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_location_stock_product_id_products')),
        sa.PrimaryKeyConstraint('product_id', 'location_id', name=op.f('pk_location_stock')),
    )
    op.create_index('ix_location_stock_location', 'location_stock', ['location_id', 'product_id'], unique=False)
    op.execute(f"INSERT INTO location_stock (product_id, location_id, in_hand, committed)"
               f" SELECT id, {_MAIN}, stock_in_hand, stock_committed FROM products")
    op.create_table(
        'line_allocations',
        sa.Column('order_line_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('allocated', sa.Integer(), nullable=False),
        sa.Column('shipped', sa.Integer(), nullable=False),
        sa.CheckConstraint('0 <= shipped AND shipped <= allocated', name=op.f('ck_line_allocations_quantities')),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_line_allocations_location_id_locations')),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_line_allocations_order_line_id_order_lines')),
        sa.PrimaryKeyConstraint('order_line_id', 'location_id', name=op.f('pk_line_allocations')),
    )
    op.create_index('ix_line_allocations_location', 'line_allocations', ['location_id', 'order_line_id'], unique=False)
    op.execute(f"INSERT INTO line_allocations (order_line_id, location_id, allocated, shipped)"
               f" SELECT id, {_MAIN}, allocated, shipped FROM order_lines WHERE allocated > 0")
    op.create_table(
        'channel_locations',
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['channel_id'], ['sales_channels.id'], name=op.f('fk_channel_locations_channel_id_sales_channels')),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_channel_locations_location_id_locations')),
        sa.PrimaryKeyConstraint('channel_id', 'location_id', name=op.f('pk_channel_locations')),
    )
    for table in ('stock_ledger', 'shipments'):
        op.add_column(table, sa.Column('location_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET location_id = {_MAIN}")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('location_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(op.f(f'fk_{table}_location_id_locations'), 'locations', ['location_id'], ['id'])
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drop_ship_location_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_products_drop_ship_location_id_locations'), 'locations',
                                    ['drop_ship_location_id'], ['id'])
    op.add_column('order_lines', sa.Column('drop_ship', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("INSERT INTO segment_counts (segment, orders) VALUES ('with_supplier', 0)")


def downgrade():
    op.execute("DELETE FROM segment_counts WHERE segment = 'with_supplier'")
    op.drop_column('order_lines', 'drop_ship')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_products_drop_ship_location_id_locations'), type_='foreignkey')
        batch_op.drop_column('drop_ship_location_id')
    for table in ('shipments', 'stock_ledger'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'fk_{table}_location_id_locations'), type_='foreignkey')
            batch_op.drop_column('location_id')
    op.drop_table('channel_locations')
    op.drop_index('ix_line_allocations_location', table_name='line_allocations')
    op.drop_table('line_allocations')
    op.drop_index('ix_location_stock_location', table_name='location_stock')
    op.drop_table('location_stock')
    op.drop_table('locations')
    op.drop_table('suppliers')
