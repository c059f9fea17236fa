"""invoiced_shipment_units: which shipments' units a rest-of-order invoice charges for

A rest-of-order invoice recorded only order lines and quantities, so a later per-shipment invoice could
charge again for units it had covered. Existing rest-of-order invoices are attributed as the service now
does it: in issue order, to the oldest shipments' units not yet invoiced.

Revision ID: 0017
Revises: 0018
Create Date: 2026-11-30 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    covered = op.create_table('invoiced_shipment_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('shipment_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_invoiced_shipment_units_quantity_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoiced_shipment_units_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['shipment_line_id'], ['shipment_lines.id'], name=op.f('fk_invoiced_shipment_units_shipment_line_id_shipment_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoiced_shipment_units'))
    )
    op.create_index(op.f('ix_invoiced_shipment_units_invoice_id'), 'invoiced_shipment_units', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_invoiced_shipment_units_shipment_line_id'), 'invoiced_shipment_units', ['shipment_line_id'], unique=False)
    _attribute_rest_of_order_invoices(covered)


def _attribute_rest_of_order_invoices(covered: sa.Table) -> None:
    conn = op.get_bind()
    invoices = sa.table('invoices', sa.column('id'), sa.column('order_id'), sa.column('shipment_id'))
    invoice_lines = sa.table('invoice_lines', sa.column('invoice_id'), sa.column('order_line_id'), sa.column('quantity'))
    shipments = sa.table('shipments', sa.column('id'), sa.column('order_id'))
    shipment_lines = sa.table('shipment_lines', sa.column('id'), sa.column('shipment_id'), sa.column('order_line_id'),
                              sa.column('quantity'))
    orders = conn.execute(sa.select(invoices.c.order_id).where(invoices.c.shipment_id.is_(None)).distinct()).scalars().all()
    rows = []
    for order_id in orders:
        # Units of each shipment line not yet invoiced, oldest shipment first; a per-shipment invoice
        # covers its whole shipment, whenever it was issued.
        invoiced_shipments = set(conn.execute(sa.select(invoices.c.shipment_id).where(
            invoices.c.order_id == order_id, invoices.c.shipment_id.is_not(None))).scalars())
        open_units = [[line_id, order_line_id, quantity] for line_id, shipment_id, order_line_id, quantity in conn.execute(
            sa.select(shipment_lines.c.id, shipment_lines.c.shipment_id, shipment_lines.c.order_line_id,
                      shipment_lines.c.quantity).join(shipments, shipments.c.id == shipment_lines.c.shipment_id)
            .where(shipments.c.order_id == order_id).order_by(shipments.c.id, shipment_lines.c.id))
            if shipment_id not in invoiced_shipments]
        for invoice_id, order_line_id, quantity in conn.execute(
                sa.select(invoices.c.id, invoice_lines.c.order_line_id, invoice_lines.c.quantity)
                .join(invoice_lines, invoice_lines.c.invoice_id == invoices.c.id)
                .where(invoices.c.order_id == order_id, invoices.c.shipment_id.is_(None))
                .order_by(invoices.c.id, invoice_lines.c.order_line_id)):
            for units in open_units:
                if quantity <= 0:
                    break
                if units[1] == order_line_id and units[2] > 0:
                    taken = min(quantity, units[2])
                    rows.append({"invoice_id": invoice_id, "shipment_line_id": units[0], "quantity": taken})
                    units[2] -= taken
                    quantity -= taken
    if rows:
        op.bulk_insert(covered, rows)


def downgrade():
    op.drop_index(op.f('ix_invoiced_shipment_units_shipment_line_id'), table_name='invoiced_shipment_units')
    op.drop_index(op.f('ix_invoiced_shipment_units_invoice_id'), table_name='invoiced_shipment_units')
    op.drop_table('invoiced_shipment_units')
