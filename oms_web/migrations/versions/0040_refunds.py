"""refunds and credit notes: a refund's amount, reason, method and channel reference; its credit note
with its own gapless number series (the counter row "credit_note")

Revision ID: 0040_refunds
Revises: 0032_carriers16
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0040_refunds'
down_revision = '0033_locations'
branch_labels = None
depends_on = None

MONEY_TOTAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'refunds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('amount_cents', MONEY_TOTAL, nullable=False),
        sa.Column('shipping_cents', MONEY_TOTAL, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.Enum('returned', 'damaged', 'not_as_described', 'not_delivered', 'goodwill', 'other',
                                    name='refundreason', native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('method', sa.Enum('original_payment', 'store_credit', 'bank_transfer', 'other',
                                    name='refundmethod', native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column('channel_reference', sa.String(length=64), nullable=True),
        sa.Column('return_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('amount_cents > 0 AND shipping_cents >= 0 AND shipping_cents <= amount_cents',
                           name=op.f('ck_refunds_amounts_in_range')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_refunds_created_by_id_users')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
        sa.UniqueConstraint('order_id', 'channel_reference', name='uq_refunds_order_channel_reference'),
    )
    op.create_index(op.f('ix_refunds_order_id'), 'refunds', ['order_id'], unique=False)
    op.create_table(
        'credit_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('refund_id', sa.Integer(), nullable=False),
        sa.Column('invoice_ids', sa.JSON(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('net_cents', MONEY_TOTAL, nullable=False),
        sa.Column('tax_cents', MONEY_TOTAL, nullable=False),
        sa.Column('total_cents', MONEY_TOTAL, nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('total_cents < 0 AND tax_cents <= 0', name=op.f('ck_credit_notes_amounts_negative')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_credit_notes_issued_by_id_users')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_credit_notes_order_id_orders')),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_credit_notes_refund_id_refunds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_notes')),
        sa.UniqueConstraint('number', name=op.f('uq_credit_notes_number')),
        sa.UniqueConstraint('refund_id', name=op.f('uq_credit_notes_refund_id')),
    )
    op.create_index(op.f('ix_credit_notes_order_id'), 'credit_notes', ['order_id'], unique=False)
    op.create_table(
        'credit_note_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('credit_note_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('order_line_id', sa.Integer(), nullable=True),
        sa.Column('sku', sa.String(length=64), nullable=True),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('net_cents', MONEY_TOTAL, nullable=False),
        sa.Column('tax_cents', MONEY_TOTAL, nullable=False),
        sa.CheckConstraint('quantity >= 0 AND net_cents <= 0 AND tax_cents <= 0',
                           name=op.f('ck_credit_note_lines_amounts_negative')),
        sa.ForeignKeyConstraint(['credit_note_id'], ['credit_notes.id'],
                                name=op.f('fk_credit_note_lines_credit_note_id_credit_notes')),
        sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                                name=op.f('fk_credit_note_lines_order_line_id_order_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_note_lines')),
    )
    op.create_index(op.f('ix_credit_note_lines_credit_note_id'), 'credit_note_lines', ['credit_note_id'], unique=False)
    op.create_index(op.f('ix_credit_note_lines_order_line_id'), 'credit_note_lines', ['order_line_id'], unique=False)
    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{"name": "credit_note", "value": 0}])


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'credit_note'")
    op.drop_index(op.f('ix_credit_note_lines_order_line_id'), table_name='credit_note_lines')
    op.drop_index(op.f('ix_credit_note_lines_credit_note_id'), table_name='credit_note_lines')
    op.drop_table('credit_note_lines')
    op.drop_index(op.f('ix_credit_notes_order_id'), table_name='credit_notes')
    op.drop_table('credit_notes')
    op.drop_index(op.f('ix_refunds_order_id'), table_name='refunds')
    op.drop_table('refunds')
