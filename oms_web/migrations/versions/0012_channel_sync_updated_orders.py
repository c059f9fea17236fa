"""channel syncs count the changes a run made to orders imported before (paid, repriced, cancelled)

A re-uploaded report that brings only payments, prices or cancellations imports no order: its summary
has to say what it did change.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 10:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('channel_syncs') as batch_op:
        batch_op.add_column(sa.Column('updated', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('channel_syncs') as batch_op:
        batch_op.drop_column('updated')
