"""The schema comes from migrations only; these tests fail when models and migrations disagree."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from oms_web.extensions import db
from oms_web.models import Segment, in_schema


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": in_schema(conn.dialect.name)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "run `flask --app oms_web db migrate` and review the new migration"


def test_migration_creates_the_counter_rows_the_services_update(app):
    from oms_web.domain.segments import segment_counts

    assert set(segment_counts()) == set(Segment)
