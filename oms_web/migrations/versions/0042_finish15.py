"""refunds.return_id: a refund for a return's units names that return (a foreign key, and an index for
the return's page, which lists the refunds made for it)

Revision ID: 0042_finish15
Revises: 0036_dropship
Create Date: 2026-12-02 10:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0042_finish15'
down_revision = '0044_finishpo'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refunds') as batch:
        batch.create_foreign_key(op.f('fk_refunds_return_id_returns'), 'returns', ['return_id'], ['id'])
        batch.create_index(op.f('ix_refunds_return_id'), ['return_id'], unique=False)


def downgrade():
    with op.batch_alter_table('refunds') as batch:
        batch.drop_index(op.f('ix_refunds_return_id'))
        batch.drop_constraint(op.f('fk_refunds_return_id_returns'), type_='foreignkey')
