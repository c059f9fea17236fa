"""shipments are packed before they are shipped, and can be cancelled while packed; orders get a Packed stage

A shipment used to be "created" and counted as in transit at once. Now it is packed (on the bench) until
it is handed to the carrier. Existing created shipments become packed; orders whose units are all in
parcels that no carrier has yet move from In transit to Packed, and orders counted Partially shipped
with nothing handed over go to Packed when nothing more can be picked, otherwise back to their picking
stage. The segment counts are recounted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 14:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_HANDED_OVER = ("NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = orders.id"
                " AND s.status IN ('shipped', 'in_transit', 'delivered'))")
_TO_PICK = "EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.allocated > l.shipped)"
_SHORT = "EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.allocated < l.ordered)"


def _recount_segments() -> None:
    op.execute("UPDATE segment_counts SET orders = (SELECT count(*) FROM orders o"
               " WHERE o.segment = segment_counts.segment)")


def upgrade():
    with op.batch_alter_table('shipments') as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE shipments SET status = 'packed' WHERE status = 'created'")
    op.execute(f"UPDATE orders SET segment = 'packed' WHERE segment = 'in_transit' AND {_HANDED_OVER}")
    op.execute(f"UPDATE orders SET segment = CASE WHEN {_TO_PICK} THEN CASE WHEN {_SHORT} THEN 'awaiting_stock'"
               f" ELSE 'ready_to_ship' END ELSE 'packed' END WHERE segment = 'partially_shipped' AND {_HANDED_OVER}")
    op.execute("INSERT INTO segment_counts (segment, orders) VALUES ('packed', 0)")
    _recount_segments()


def downgrade():
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM shipments WHERE status = 'cancelled'")).scalar():
        raise RuntimeError("Cancelled shipments exist: the schema before 0020 cannot hold them")
    op.execute("UPDATE shipments SET status = 'created' WHERE status = 'packed'")
    op.execute("UPDATE shipments SET status = 'shipped' WHERE status = 'in_transit'")
    op.execute("UPDATE orders SET segment = 'in_transit' WHERE segment = 'packed'")
    op.execute("UPDATE orders SET segment = 'partially_shipped' WHERE segment IN ('ready_to_ship', 'awaiting_stock')"
               " AND EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = orders.id AND l.shipped > 0)")
    op.execute("DELETE FROM segment_counts WHERE segment = 'packed'")
    _recount_segments()
    with op.batch_alter_table('shipments') as batch_op:
        batch_op.drop_column('cancelled_at')
