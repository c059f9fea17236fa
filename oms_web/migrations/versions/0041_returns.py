"""returns (RMA): returns and their lines, the units each order line got back, the ledger's return reference

Revision ID: 0041_returns
Revises: 0032_carriers16
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0041_returns'
down_revision = '0040_refunds'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'returns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('reject_reason', sa.String(length=300), nullable=True),
        sa.Column('replacement_order_id', sa.Integer(), nullable=True),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('authorized_by_id', sa.Integer(), nullable=True),
        sa.Column('authorized_at', sa.DateTime(), nullable=True),
        sa.Column('received_by_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('rejected_by_id', sa.Integer(), nullable=True),
        sa.Column('rejected_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_returns_order_id_orders')),
        sa.ForeignKeyConstraint(['replacement_order_id'], ['orders.id'],
                                name=op.f('fk_returns_replacement_order_id_orders')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_returns_requested_by_id_users')),
        sa.ForeignKeyConstraint(['authorized_by_id'], ['users.id'], name=op.f('fk_returns_authorized_by_id_users')),
        sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_returns_received_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_returns_closed_by_id_users')),
        sa.ForeignKeyConstraint(['rejected_by_id'], ['users.id'], name=op.f('fk_returns_rejected_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
        sa.UniqueConstraint('replacement_order_id', name=op.f('uq_returns_replacement_order_id')),
    )
    op.create_index(op.f('ix_returns_order_id'), 'returns', ['order_id'], unique=False)
    op.create_index('ix_returns_state', 'returns', ['state', 'id'], unique=False)
    op.create_table(
        'return_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('return_id', sa.Integer(), nullable=False),
        sa.Column('order_line_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('restocked', sa.Integer(), nullable=False),
        sa.Column('quarantined', sa.Integer(), nullable=False),
        sa.Column('written_off', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_return_lines_quantity_positive')),
        sa.CheckConstraint('restocked >= 0 AND quarantined >= 0 AND written_off >= 0',
                           name=op.f('ck_return_lines_conditions_not_negative')),
        sa.CheckConstraint('restocked + quarantined + written_off = received AND received <= quantity',
                           name=op.f('ck_return_lines_received_split')),
        sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns')),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                                name=op.f('fk_return_lines_order_line_id_order_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_return_lines')),
    )
    op.create_index(op.f('ix_return_lines_return_id'), 'return_lines', ['return_id'], unique=False)
    op.create_index(op.f('ix_return_lines_order_line_id'), 'return_lines', ['order_line_id'], unique=False)
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('returned', sa.Integer(), nullable=False, server_default='0'))
        batch.create_check_constraint(op.f('ck_order_lines_returned_within_shipped'),
                                      '0 <= returned AND returned <= shipped')
    with op.batch_alter_table('stock_ledger') as batch:
        batch.add_column(sa.Column('return_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_stock_ledger_return_id_returns'), 'returns', ['return_id'], ['id'])
        batch.create_index(op.f('ix_stock_ledger_return_id'), ['return_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_ledger') as batch:
        batch.drop_index(op.f('ix_stock_ledger_return_id'))
        batch.drop_constraint(op.f('fk_stock_ledger_return_id_returns'), type_='foreignkey')
        batch.drop_column('return_id')
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_constraint(op.f('ck_order_lines_returned_within_shipped'), type_='check')
        batch.drop_column('returned')
    op.drop_index(op.f('ix_return_lines_order_line_id'), table_name='return_lines')
    op.drop_index(op.f('ix_return_lines_return_id'), table_name='return_lines')
    op.drop_table('return_lines')
    op.drop_index('ix_returns_state', table_name='returns')
    op.drop_index(op.f('ix_returns_order_id'), table_name='returns')
    op.drop_table('returns')
