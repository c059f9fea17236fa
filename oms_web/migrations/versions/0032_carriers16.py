"""carriers: labels bought from a multi-carrier service, package presets, product sizes, tracking,
per-channel rate rules and customer emails

Revision ID: 0032_carriers16
Revises: 0031_handover
Create Date: 2026-11-30 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0032_carriers16'
down_revision = '0031_handover'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products') as batch:
        for name in ('length_mm', 'width_mm', 'height_mm'):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('sales_channels') as batch:
        batch.add_column(sa.Column('rate_rule', sa.String(length=20), nullable=False, server_default='manual'))
        batch.add_column(sa.Column('rate_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('ship_email', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('delivered_email', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('shipments') as batch:
        batch.add_column(sa.Column('tracking_status', sa.String(length=30), nullable=True))
        batch.add_column(sa.Column('tracking_message', sa.String(length=300), nullable=True))
        batch.add_column(sa.Column('tracking_at', sa.DateTime(), nullable=True))
    op.create_table(
        'package_presets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('length_mm', sa.Integer(), nullable=False),
        sa.Column('width_mm', sa.Integer(), nullable=False),
        sa.Column('height_mm', sa.Integer(), nullable=False),
        sa.Column('tare_grams', sa.Integer(), nullable=False),
        sa.CheckConstraint('length_mm > 0 AND width_mm > 0 AND height_mm > 0 AND tare_grams >= 0',
                           name=op.f('ck_package_presets_package_size_positive')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_package_presets')),
        sa.UniqueConstraint('name', name=op.f('uq_package_presets_name')),
    )
    op.create_table(
        'carrier_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('service', sa.String(length=20), nullable=False),
        sa.Column('api_key', sa.String(length=200), nullable=False),
        sa.Column('webhook_secret', sa.String(length=200), nullable=True),
        sa.Column('base_url', sa.String(length=200), nullable=False),
        sa.Column('label_format', sa.String(length=4), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_carrier_accounts')),
        sa.UniqueConstraint('service', name=op.f('uq_carrier_accounts_service')),
    )
    op.create_table(
        'label_purchases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=True),
        sa.Column('service', sa.String(length=20), nullable=False),
        sa.Column('remote_id', sa.String(length=80), nullable=False),
        sa.Column('rate_id', sa.String(length=80), nullable=False),
        sa.Column('carrier', sa.String(length=60), nullable=False),
        sa.Column('carrier_service', sa.String(length=60), nullable=False),
        sa.Column('rate_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('delivery_days', sa.Integer(), nullable=True),
        sa.Column('quantities', sa.JSON(), nullable=False),
        sa.Column('parcel', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('tracking_code', sa.String(length=80), nullable=True),
        sa.Column('tracker_id', sa.String(length=80), nullable=True),
        sa.Column('tracking_url', sa.String(length=500), nullable=True),
        sa.Column('label_format', sa.String(length=4), nullable=True),
        sa.Column('label', sa.LargeBinary(), nullable=True),
        sa.Column('refund_status', sa.String(length=20), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_label_purchases_order_id_orders')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_label_purchases_shipment_id_shipments')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_label_purchases_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_label_purchases')),
        sa.UniqueConstraint('shipment_id', name=op.f('uq_label_purchases_shipment_id')),
        sa.UniqueConstraint('remote_id', name=op.f('uq_label_purchases_remote_id')),
    )
    op.create_index(op.f('ix_label_purchases_order_id'), 'label_purchases', ['order_id'], unique=False)
    op.create_index(op.f('ix_label_purchases_status'), 'label_purchases', ['status'], unique=False)
    op.create_index(op.f('ix_label_purchases_tracker_id'), 'label_purchases', ['tracker_id'], unique=False)
    op.create_table(
        'customer_emails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('to_address', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_customer_emails_order_id_orders')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_customer_emails_shipment_id_shipments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_emails')),
        sa.UniqueConstraint('shipment_id', 'kind', name='uq_customer_emails_shipment_kind'),
    )
    op.create_index(op.f('ix_customer_emails_order_id'), 'customer_emails', ['order_id'], unique=False)


def downgrade():
    op.drop_table('customer_emails')
    op.drop_table('label_purchases')
    op.drop_table('carrier_accounts')
    op.drop_table('package_presets')
    with op.batch_alter_table('shipments') as batch:
        for name in ('tracking_at', 'tracking_message', 'tracking_status'):
            batch.drop_column(name)
    with op.batch_alter_table('sales_channels') as batch:
        for name in ('delivered_email', 'ship_email', 'rate_days', 'rate_rule'):
            batch.drop_column(name)
    with op.batch_alter_table('products') as batch:
        for name in ('height_mm', 'width_mm', 'length_mm'):
            batch.drop_column(name)
