"""jobs: the print_jobs table generalised for every kind of background work on the task queue

A job's state (kind, parameters, status, progress, attempts, error, result, the run that holds it
and its heartbeat) lives in the database, so the web pages read it and a job whose worker died is
found and run again. The print jobs of print_jobs are carried over as jobs of kind "print".

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 10:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    jobs = op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('result', sa.LargeBinary(), nullable=True),
    sa.Column('worker', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('key', name=op.f('uq_jobs_key'))
    )
    op.create_index('ix_jobs_status', 'jobs', ['status', 'id'], unique=False)

    old = sa.table('print_jobs', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                   sa.column('order_ids', sa.JSON), sa.column('user_id', sa.Integer),
                   sa.column('status', sa.String), sa.column('done', sa.Integer), sa.column('total', sa.Integer),
                   sa.column('message', sa.String), sa.column('pdf', sa.LargeBinary),
                   sa.column('created_at', sa.DateTime), sa.column('finished_at', sa.DateTime))
    conn = op.get_bind()
    rows = [{"id": r.id, "kind": "print", "params": {"document": r.kind, "order_ids": r.order_ids},
             "user_id": r.user_id, "status": r.status, "done": r.done, "total": r.total,
             "attempts": 1 if r.status in ("done", "failed") else 0, "error": r.message, "result": r.pdf,
             "created_at": r.created_at, "finished_at": r.finished_at}
            for r in conn.execute(sa.select(old).order_by(old.c.id))]
    if rows:
        op.bulk_insert(jobs, rows)
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('jobs', 'id'), (SELECT max(id) FROM jobs))"))
    op.drop_table('print_jobs')


def downgrade():
    op.create_table('print_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('order_ids', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_print_jobs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_jobs'))
    )
    # Only print jobs go back; other kinds did not exist before this revision.
    conn = op.get_bind()
    jobs = sa.table('jobs', sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('params', sa.JSON),
                    sa.column('user_id', sa.Integer), sa.column('status', sa.String), sa.column('done', sa.Integer),
                    sa.column('total', sa.Integer), sa.column('error', sa.String), sa.column('result', sa.LargeBinary),
                    sa.column('created_at', sa.DateTime), sa.column('finished_at', sa.DateTime))
    rows = [{"id": r.id, "kind": r.params.get("document", "labels"), "order_ids": r.params.get("order_ids", []),
             "user_id": r.user_id, "status": r.status, "done": r.done, "total": r.total,
             "message": (r.error or "")[:300] or None, "pdf": r.result, "created_at": r.created_at,
             "finished_at": r.finished_at}
            for r in conn.execute(sa.select(jobs).where(jobs.c.kind == "print", jobs.c.user_id.isnot(None)))]
    if rows:
        op.bulk_insert(sa.table('print_jobs', sa.column('id'), sa.column('kind'), sa.column('order_ids', sa.JSON),
                                sa.column('user_id'), sa.column('status'), sa.column('done'), sa.column('total'),
                                sa.column('message'), sa.column('pdf'), sa.column('created_at'),
                                sa.column('finished_at')), rows)
    op.drop_index('ix_jobs_status', table_name='jobs')
    op.drop_table('jobs')
