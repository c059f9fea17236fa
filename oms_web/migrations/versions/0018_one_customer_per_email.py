"""one customer per email, and what was paid of an order whose total an edit raised

Customers' emails are kept normalised (trimmed, lower case) under a unique index, so that two orders
arriving at once with one new email find one customer instead of making two. Existing duplicates
(the same email in other letter cases or spacing) are merged into the first customer made, as
create_order already treated them: their orders and addresses move to it, the others go. The orders
keep their own customer name and email, so no order's documents change.

orders.paid_cents records what was paid once an edit raises a paid order's total (the balance due).

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-30 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    customers = sa.table('customers', sa.column('id', sa.Integer), sa.column('email', sa.String))
    orders = sa.table('orders', sa.column('customer_id', sa.Integer))
    addresses = sa.table('addresses', sa.column('customer_id', sa.Integer))
    normalised = sa.func.lower(sa.func.trim(customers.c.email))
    first_of = {}
    merged = {}
    for customer_id, email in bind.execute(sa.select(customers.c.id, normalised).where(
            customers.c.email.is_not(None)).order_by(customers.c.id)):
        if not email:
            continue
        if email in first_of:
            merged[customer_id] = first_of[email]
        else:
            first_of[email] = customer_id
    for duplicate, kept in merged.items():
        for table in (orders, addresses):
            bind.execute(table.update().where(table.c.customer_id == duplicate).values(customer_id=kept))
        bind.execute(customers.delete().where(customers.c.id == duplicate))
    bind.execute(customers.update().values(email=sa.func.nullif(normalised, '')))

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_email')
        batch_op.create_index('ix_customers_email', ['email'], unique=True)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paid_cents', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('paid_cents')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index('ix_customers_email')
        batch_op.create_index('ix_customers_email', ['email'], unique=False)
