"""report uploads kept between preview and import

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 17:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=True),
    sa.Column('sync_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['sales_channels.id'], name=op.f('fk_report_uploads_channel_id_sales_channels')),
    sa.ForeignKeyConstraint(['sync_id'], ['channel_syncs.id'], name=op.f('fk_report_uploads_sync_id_channel_syncs')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_report_uploads_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_uploads'))
    )


def downgrade():
    op.drop_table('report_uploads')
