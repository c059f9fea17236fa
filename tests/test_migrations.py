"""The schema comes from migrations only; these tests fail when models and migrations disagree."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from oms_web import create_app
from oms_web.extensions import db
from oms_web.models import Counter, Segment, SegmentCount, in_schema

from .conftest import test_config as settings_for


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": in_schema(conn.dialect.name)})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "run `flask --app oms_web db migrate` and review the new migration"


def test_migration_creates_the_counter_rows_the_services_update(tmp_path):
    """On a database file made by the migrations alone (the test fixtures keep these rows between tests
    rather than make them, so only this shows that a new shop's database has them)."""
    fresh = create_app(settings_for(f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    with fresh.app_context():
        upgrade()
        counts = dict(db.session.execute(sa.select(SegmentCount.segment, SegmentCount.orders)).all())
        counters = dict(db.session.execute(sa.select(Counter.name, Counter.value)).all())
        db.session.remove()
    assert counts == {segment: 0 for segment in Segment}
    assert counters == {"invoice_number": 0}
