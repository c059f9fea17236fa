"""purchasing: suppliers' products, purchase orders and their lines, the ledger's purchase order

Revision ID: 0034_purchasing
Revises: 0033_locations
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0034_purchasing'
down_revision = '0035_transfers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'supplier_products',
        sa.Column('supplier_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('supplier_sku', sa.String(length=64), nullable=True),
        sa.Column('unit_cost_cents', sa.Integer(), nullable=False),
        sa.CheckConstraint('unit_cost_cents >= 0', name=op.f('ck_supplier_products_cost_not_negative')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_supplier_products_product_id_products')),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_products_supplier_id_suppliers')),
        sa.PrimaryKeyConstraint('supplier_id', 'product_id', name=op.f('pk_supplier_products')),
    )
    op.create_index('ix_supplier_products_product', 'supplier_products', ['product_id', 'supplier_id'], unique=False)
    op.create_table(
        'purchase_orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('supplier_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('draft', 'sent', 'partially_received', 'received', 'closed', 'cancelled',
                                   name='purchaseorderstate', native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column('expected_on', sa.Date(), nullable=True),
        sa.Column('notes', sa.String(length=2000), nullable=True),
        sa.Column('drop_ship', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('drop_ship_day', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_purchase_orders_created_by_id_users')),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_purchase_orders_location_id_locations')),
        sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_orders_supplier_id_suppliers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
        sa.UniqueConstraint('supplier_id', 'drop_ship_day', name='uq_purchase_orders_drop_ship_day'),
    )
    op.create_index('ix_purchase_orders_state_id', 'purchase_orders', ['state', 'id'], unique=False)
    op.create_index('ix_purchase_orders_supplier_id', 'purchase_orders', ['supplier_id', 'id'], unique=False)
    op.create_table(
        'purchase_order_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purchase_order_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('unit_cost_cents', sa.Integer(), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('order_line_id', sa.Integer(), nullable=True),
        sa.Column('ship_to', sa.JSON(), nullable=True),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_order_lines_quantity_positive')),
        sa.CheckConstraint('unit_cost_cents >= 0', name=op.f('ck_purchase_order_lines_cost_not_negative')),
        sa.CheckConstraint('0 <= received', name=op.f('ck_purchase_order_lines_received_not_negative')),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                                name=op.f('fk_purchase_order_lines_order_line_id_order_lines')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_purchase_order_lines_product_id_products')),
        sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'],
                                name=op.f('fk_purchase_order_lines_purchase_order_id_purchase_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_lines')),
    )
    op.create_index(op.f('ix_purchase_order_lines_purchase_order_id'), 'purchase_order_lines', ['purchase_order_id'],
                    unique=False)
    op.create_index(op.f('ix_purchase_order_lines_order_line_id'), 'purchase_order_lines', ['order_line_id'], unique=False)
    op.create_index('ix_purchase_order_lines_product', 'purchase_order_lines', ['product_id', 'purchase_order_id'],
                    unique=False)
    with op.batch_alter_table('stock_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purchase_order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_stock_ledger_purchase_order_id_purchase_orders'), 'purchase_orders',
                                    ['purchase_order_id'], ['id'])


def downgrade():
    with op.batch_alter_table('stock_ledger', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_stock_ledger_purchase_order_id_purchase_orders'), type_='foreignkey')
        batch_op.drop_column('purchase_order_id')
    op.drop_index('ix_purchase_order_lines_product', table_name='purchase_order_lines')
    op.drop_index(op.f('ix_purchase_order_lines_order_line_id'), table_name='purchase_order_lines')
    op.drop_index(op.f('ix_purchase_order_lines_purchase_order_id'), table_name='purchase_order_lines')
    op.drop_table('purchase_order_lines')
    op.drop_index('ix_purchase_orders_supplier_id', table_name='purchase_orders')
    op.drop_index('ix_purchase_orders_state_id', table_name='purchase_orders')
    op.drop_table('purchase_orders')
    op.drop_index('ix_supplier_products_product', table_name='supplier_products')
    op.drop_table('supplier_products')
