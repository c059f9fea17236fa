"""Drop-ship PO lines record the units taken off after sending (cancelled); purchase_order_emails: a PO
emailed to its supplier by the task queue

Revision ID: 0044_finishpo
Revises: 0036_dropship
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0044_finishpo'
down_revision = '0036_dropship'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('purchase_order_lines') as batch_op:
        batch_op.add_column(sa.Column('cancelled', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_purchase_order_lines_cancelled_in_range'),
                                         '0 <= cancelled AND cancelled <= quantity')
    op.create_table(
        'purchase_order_emails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purchase_order_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'],
                                name=op.f('fk_purchase_order_emails_purchase_order_id_purchase_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_emails')),
    )
    op.create_index(op.f('ix_purchase_order_emails_purchase_order_id'), 'purchase_order_emails',
                    ['purchase_order_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_purchase_order_emails_purchase_order_id'), table_name='purchase_order_emails')
    op.drop_table('purchase_order_emails')
    with op.batch_alter_table('purchase_order_lines') as batch_op:
        batch_op.drop_constraint(op.f('ck_purchase_order_lines_cancelled_in_range'), type_='check')
        batch_op.drop_column('cancelled')
