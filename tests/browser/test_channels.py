"""An admin imports a marketplace report file: choose it, read the preview, confirm, read the summary."""
import sqlalchemy as sa
from playwright.sync_api import expect

from oms_web.extensions import db
from oms_web.models import ChannelKind, Order, SalesChannel, Segment
from .conftest import screenshot, sign_in
from tests.helpers.amazon_reports import ALL_ORDERS, all_orders_row, tsv


def test_h_an_amazon_report_is_previewed_then_imported_into_the_board(page, shop, tmp_path):
    shop.product("MUG-BLUE", in_hand=5, price_cents=1250)
    amazon = SalesChannel(name="Amazon US", kind=ChannelKind.AMAZON, settings={})
    db.session.add(amazon)
    db.session.commit()
    report = tmp_path / "All Orders.txt"
    report.write_text(tsv(ALL_ORDERS, [all_orders_row("111-0000001-0000001", "MUG-BLUE", "2", "25.00"),
                                       all_orders_row("111-0000002-0000002", "NO-SUCH-SKU", "1", "9.00")]))
    sign_in(page, shop.admin, then=f"/channels/{amazon.id}")

    page.get_by_label("Kind of file").select_option(label="Amazon All Orders report (tab-separated)")
    page.get_by_label("File", exact=True).set_input_files(str(report))
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="Preview: Amazon All Orders report (tab-separated) for Amazon US")).to_be_visible()
    expect(page.get_by_text("Nothing has been imported yet.")).to_be_visible()
    expect(page.get_by_text("NO-SUCH-SKU")).to_be_visible()
    screenshot(page, "report-preview")
    shop.fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0

    page.get_by_role("button", name="Import 2 order(s)").click()

    expect(page.get_by_text("Report imported")).to_be_visible()
    shop.fresh()
    segments = dict(db.session.execute(sa.select(Order.channel_order_id, Order.segment)).all())
    assert segments == {"111-0000001-0000001": Segment.READY_TO_SHIP, "111-0000002-0000002": Segment.NEEDS_ATTENTION}
    assert shop.product_row("MUG-BLUE").stock_committed == 2

    screenshot(page, "report-imported")
    page.goto(f"{page.url.split('/channels')[0]}/orders")
    expect(page.locator("main")).to_contain_text("Amazon US")
    expect(page.locator("main")).to_contain_text("Amazon customer")


def test_i_amazon_shipments_are_confirmed_by_upload_file_then_marked_uploaded(page, shop, tmp_path):
    from oms_web.channels import reports
    from oms_web.domain import shipping
    from oms_web.models import ShipmentConfirmation

    shop.product("MUG-BLUE", in_hand=5, price_cents=1250)
    amazon = SalesChannel(name="Amazon US", kind=ChannelKind.AMAZON, settings={})
    db.session.add(amazon)
    db.session.commit()
    reports.import_file(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS,
                        tsv(ALL_ORDERS, [all_orders_row("111-0000003-0000003", "MUG-BLUE", "2", "25.00")]).encode())
    shop.fresh()
    order = db.session.scalar(sa.select(Order).where(Order.channel_order_id == "111-0000003-0000003"))
    sign_in(page, shop.admin, then=f"/channels/{amazon.id}")

    page.get_by_label("Confirm shipments by").select_option(label="Upload file: you upload it on Seller Central")
    page.get_by_role("button", name="Save channel").click()
    expect(page.get_by_text("confirms shipments by upload file")).to_be_visible()

    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.ordered for line in order.lines})
    shipping.mark_shipped(shop.staff, shipment.id, "UPS", "1Z999AA10123456784")
    page.reload()
    expect(page.get_by_role("link", name="Download shipment confirmation file")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download shipment confirmation file").click()
    saved = tmp_path / "confirmations.txt"
    download.value.save_as(saved)
    rows = saved.read_text().splitlines()
    assert rows[0].startswith("order-id\t") and rows[1].startswith("111-0000003-0000003\t") and "1Z999AA10123456784" in rows[1]
    shop.fresh()
    assert db.session.scalar(sa.select(ShipmentConfirmation.status)) == "pending"  # a download changes nothing
    screenshot(page, "channel-confirm-by-file")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark these 1 as uploaded").click()
    expect(page.get_by_text(f"Marked confirmed by upload file: {shipment.number}")).to_be_visible()
    expect(page.get_by_text("None: the marketplace has heard of every shipment.")).to_be_visible()
    shop.fresh()
    assert db.session.scalar(sa.select(ShipmentConfirmation.status)) == "sent"


def test_a_long_report_is_imported_as_a_job_whose_page_follows_it_to_the_orders_and_errors(page, open_page, shop,
                                                                                           tmp_path):
    from oms_web.channels.report_jobs import INLINE_ROWS
    from oms_web.models import Job
    from oms_web.tasks import run_job

    from .conftest import PHONE

    shop.product("MUG-BLUE", in_hand=2_000, price_cents=1250)
    amazon = SalesChannel(name="Amazon US", kind=ChannelKind.AMAZON, settings={})
    db.session.add(amazon)
    db.session.commit()
    count = INLINE_ROWS + 20
    report = tmp_path / "All Orders.txt"
    report.write_text(tsv(ALL_ORDERS, [all_orders_row(f"111-{n:07d}-0000001", "MUG-BLUE", "1", "25.00")
                                       for n in range(count)] + [all_orders_row("111-BAD", "MUG-BLUE", "two", "25.00")]))
    sign_in(page, shop.admin, then=f"/channels/{amazon.id}")
    page.get_by_label("Kind of file").select_option(label="Amazon All Orders report (tab-separated)")
    page.get_by_label("File", exact=True).set_input_files(str(report))
    page.get_by_role("button", name="Preview the import").click()
    page.get_by_role("button", name=f"Import {count} order(s)").click()

    expect(page.get_by_role("heading", name="Importing All Orders.txt into Amazon US")).to_be_visible()
    expect(page.locator("#report-job [role=status]")).to_have_text("Waiting for a worker…")
    screenshot(page, "report-import-waiting")
    shop.fresh()
    run_job(db.session.scalars(sa.select(Job.id).where(Job.kind == "report_import")).one())  # what the worker does

    expect(page.get_by_role("heading", name="Report imported into Amazon US")).to_be_visible(timeout=10_000)
    expect(page.locator(".report-errors")).to_contain_text("quantity 'two' is not a whole number")
    expect(page.locator(".report-orders tbody tr")).to_have_count(50)
    screenshot(page, "report-import-done")
    phone = open_page(viewport=PHONE)
    sign_in(phone, shop.admin, then=page.url.split(page.url.split("/channels")[0])[1])
    expect(phone.get_by_role("heading", name="Report imported into Amazon US")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "report-import-done-390")
