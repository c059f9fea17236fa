"""products get a barcode (a GTIN, unique where given) and a reorder point that defaults to 0

Managers edit products now: the barcode is what scan-to-pack reads, and the reorder point says when a
product is low on stock (available <= reorder point).

Revision ID: 0019
Revises: 0017
Create Date: 2026-11-30 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products') as batch_op:
        batch_op.add_column(sa.Column('barcode', sa.String(length=14), nullable=True))
        batch_op.alter_column('reorder_point', existing_type=sa.Integer(), existing_nullable=False,
                              server_default='0')
        batch_op.create_check_constraint(op.f('ck_products_reorder_point_not_negative'), 'reorder_point >= 0')
        batch_op.create_index('uq_products_barcode', ['barcode'], unique=True)


def downgrade():
    with op.batch_alter_table('products') as batch_op:
        batch_op.drop_index('uq_products_barcode')
        batch_op.drop_constraint(op.f('ck_products_reorder_point_not_negative'), type_='check')
        batch_op.alter_column('reorder_point', existing_type=sa.Integer(), existing_nullable=False,
                              server_default=None)
        batch_op.drop_column('barcode')
