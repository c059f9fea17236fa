"""transfers: units moved between own locations, and the ledger rows that name them

Revision ID: 0035_transfers
Revises: 0033_locations
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0035_transfers'
down_revision = '0041_returns'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'transfers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('destination_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('created', 'shipped', 'partially_received', 'received', 'cancelled',
                                   name='transferstate', native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('shipped_at', sa.DateTime(), nullable=True),
        sa.Column('shipped_by_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=True),
        sa.Column('received_by_id', sa.Integer(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('source_id <> destination_id', name=op.f('ck_transfers_two_places')),
        sa.ForeignKeyConstraint(['source_id'], ['locations.id'], name=op.f('fk_transfers_source_id_locations')),
        sa.ForeignKeyConstraint(['destination_id'], ['locations.id'], name=op.f('fk_transfers_destination_id_locations')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_transfers_created_by_id_users')),
        sa.ForeignKeyConstraint(['shipped_by_id'], ['users.id'], name=op.f('fk_transfers_shipped_by_id_users')),
        sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_transfers_received_by_id_users')),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_transfers_cancelled_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    )
    op.create_index('ix_transfers_state', 'transfers', ['state', 'id'], unique=False)
    op.create_table(
        'transfer_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('shipped', sa.Integer(), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity > 0 AND 0 <= received AND received <= shipped AND shipped <= quantity',
                           name=op.f('ck_transfer_lines_quantities')),
        sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_lines_transfer_id_transfers')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_transfer_lines_product_id_products')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_lines')),
        sa.UniqueConstraint('transfer_id', 'product_id', name='uq_transfer_lines_product'),
    )
    op.create_index(op.f('ix_transfer_lines_product_id'), 'transfer_lines', ['product_id'], unique=False)
    with op.batch_alter_table('stock_ledger', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_stock_ledger_transfer_id_transfers'), 'transfers', ['transfer_id'], ['id'])
        batch_op.create_index(op.f('ix_stock_ledger_transfer_id'), ['transfer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_ledger', schema=None) as batch_op:
        batch_op.drop_index(op.f('ix_stock_ledger_transfer_id'))
        batch_op.drop_constraint(op.f('fk_stock_ledger_transfer_id_transfers'), type_='foreignkey')
        batch_op.drop_column('transfer_id')
    op.drop_index(op.f('ix_transfer_lines_product_id'), table_name='transfer_lines')
    op.drop_table('transfer_lines')
    op.drop_index('ix_transfers_state', table_name='transfers')
    op.drop_table('transfers')
