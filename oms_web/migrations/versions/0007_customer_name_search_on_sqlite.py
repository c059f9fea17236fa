"""customer name search on SQLite: an FTS5 trigram table kept in step by triggers

SQLite has no index for LIKE '%part%'; the board's search by name read every customer (about 75 ms
at 1,000,000 orders). PostgreSQL has its trigram index (0006).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 17:55:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

STATEMENTS = [
    "CREATE VIRTUAL TABLE customer_names USING fts5(name, content='customers', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER customer_names_after_insert AFTER INSERT ON customers BEGIN "
    "INSERT INTO customer_names(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER customer_names_after_delete AFTER DELETE ON customers BEGIN "
    "INSERT INTO customer_names(customer_names, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER customer_names_after_update AFTER UPDATE OF name ON customers BEGIN "
    "INSERT INTO customer_names(customer_names, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO customer_names(rowid, name) VALUES (new.id, new.name); END",
    "INSERT INTO customer_names(customer_names) VALUES ('rebuild')",
]


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("customer_names_after_insert", "customer_names_after_delete", "customer_names_after_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS customer_names")
