"""An admin imports a marketplace report file: choose it, read the preview, confirm, read the summary."""
import sqlalchemy as sa
from playwright.sync_api import expect

from oms_web.extensions import db
from oms_web.models import ChannelKind, Order, SalesChannel, Segment

from ..channels.test_reports import ALL_ORDERS, all_orders_row, tsv
from .conftest import screenshot, sign_in


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
