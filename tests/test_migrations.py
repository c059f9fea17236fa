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


def test_migration_0017_attributes_existing_rest_of_order_invoices_to_the_oldest_shipments(tmp_path):
    """Invoices issued before 0017 recorded no coverage: the migration gives each rest-of-order invoice the
    oldest shipments' units not yet invoiced, so check-stock's coverage rule holds on an upgraded database."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from oms_web import create_app
    from oms_web.domain import invoicing, shipping
    from oms_web.domain.invariants import check_invariants
    from oms_web.domain.orders import LineRequest
    from oms_web.models import InvoicedShipmentUnits

    from .conftest import empty_database, test_config
    from .shop import Shop

    app = create_app(test_config(f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"))
    with app.app_context():
        upgrade()
        empty_database()
        shop = Shop()
        shop.product("A", in_hand=10)
        order = shop.channel_order(LineRequest("A", 5))
        line_id = shop.line(order.id, "A").id
        first = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
        invoicing.issue_invoice(shop.staff, order.id)
        second = shipping.ship_lines(shop.staff, order.id, {line_id: 1})
        invoicing.issue_invoice(shop.staff, order.id, second.id)
        third = shipping.ship_lines(shop.staff, order.id, {line_id: 2})
        invoicing.issue_invoice(shop.staff, order.id)
        expected = sorted(db.session.execute(sa.select(InvoicedShipmentUnits.invoice_id,
                                                       InvoicedShipmentUnits.shipment_line_id,
                                                       InvoicedShipmentUnits.quantity)).all())
        assert {row[1] for row in expected} == {first.lines[0].id, third.lines[0].id}
        db.session.remove()

        downgrade(revision="0009")
        upgrade()

        assert sorted(db.session.execute(sa.select(InvoicedShipmentUnits.invoice_id,
                                                   InvoicedShipmentUnits.shipment_line_id,
                                                   InvoicedShipmentUnits.quantity)).all()) == expected
        assert check_invariants() == []
        db.session.remove()
