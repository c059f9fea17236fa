"""sign-in counts: failed sign-in throttling shared by every worker through the database when there is no Redis

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_counts',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('window_ends', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_counts'))
    )


def downgrade():
    op.drop_table('sign_in_counts')
