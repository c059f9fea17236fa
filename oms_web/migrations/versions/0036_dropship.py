"""supplier_link_uses: each confirmation sent through a drop-ship supplier's signed link, once

Revision ID: 0036_dropship
Revises: 0033_locations
Create Date: 2026-11-30 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0036_dropship'
down_revision = '0034_purchasing'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'supplier_link_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('use_number', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_supplier_link_uses_order_id_orders')),
        sa.ForeignKeyConstraint(['location_id'], ['locations.id'],
                                name=op.f('fk_supplier_link_uses_location_id_locations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_link_uses')),
        sa.UniqueConstraint('nonce', 'use_number', name='uq_supplier_link_uses_nonce_use'),
    )
    op.create_index(op.f('ix_supplier_link_uses_order_id'), 'supplier_link_uses', ['order_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_supplier_link_uses_order_id'), table_name='supplier_link_uses')
    op.drop_table('supplier_link_uses')
