"""manifests: the parcels handed to a carrier in one hand-over, so the signed sheet can be printed again

Revision ID: 0031_handover
Revises: 0030_shipby
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031_handover'
down_revision = '0030_shipby'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_shipments_status_carrier', 'shipments', ['status', 'carrier'], unique=False)
    op.create_table(
        'manifests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('carrier', sa.String(length=60), nullable=False),
        sa.Column('handed_over_at', sa.DateTime(), nullable=False),
        sa.Column('handed_over_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['handed_over_by_id'], ['users.id'], name=op.f('fk_manifests_handed_over_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_manifests')),
    )
    op.create_index(op.f('ix_manifests_handed_over_at'), 'manifests', ['handed_over_at'], unique=False)
    op.create_table(
        'manifest_parcels',
        sa.Column('manifest_id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['manifest_id'], ['manifests.id'], name=op.f('fk_manifest_parcels_manifest_id_manifests')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_manifest_parcels_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('manifest_id', 'shipment_id', name=op.f('pk_manifest_parcels')),
        sa.UniqueConstraint('shipment_id', name=op.f('uq_manifest_parcels_shipment_id')),
    )


def downgrade():
    op.drop_table('manifest_parcels')
    op.drop_index(op.f('ix_manifests_handed_over_at'), table_name='manifests')
    op.drop_table('manifests')
    op.drop_index('ix_shipments_status_carrier', table_name='shipments')
