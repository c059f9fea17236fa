"""The channel screens and command line: uploading a report (preview, then import), syncing from cron."""
from __future__ import annotations

import io
import re
import tracemalloc
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

from oms_web.channels import reports
from oms_web.database import write_transaction
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, ChannelSync, Order, ReportUpload, SalesChannel

from .fakes import AMAZON_CREDENTIALS, MARKETPLACE_ID, amazon_order
from tests.helpers.amazon_reports import ALL_ORDERS, all_orders_row, channel, tsv
from tests.helpers.signing_in import admin_client, page_token


def order_count() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


def test_an_uploaded_report_is_previewed_without_a_write_then_imported_with_a_summary(app, shop):
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    report = tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "2", "20.00"), all_orders_row("202-2", "NOPE", "1", "5.00")])
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"
    assert "Import a report file" in client.get(page).get_data(as_text=True)

    preview = client.post(f"/channels/{amazon.id}/reports", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, page), "kind": "amazon-all-orders",
        "file": (io.BytesIO(report.encode()), "orders.txt")})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Nothing has been imported yet" in html and "NOPE" in html
    assert order_count() == 0

    assert 'name="content"' not in html  # the file stays on the server; the form names the upload
    upload_id = re.search(r'name="upload" value="([0-9]+)"', html).group(1)

    def confirm(upload: str):
        return client.post(f"/channels/{amazon.id}/reports", data={
            "csrf_token": page_token(client, page), "kind": "amazon-all-orders", "confirmed": "1", "upload": upload})

    done = confirm(upload_id)
    assert done.status_code == 200 and "Report imported" in done.get_data(as_text=True)
    assert order_count() == 2 and check_invariants() == []
    db.session.rollback()
    run = db.session.scalar(sa.select(ChannelSync).where(ChannelSync.channel_id == amazon.id))
    assert (run.imported, run.held) == (1, 1)  # one new order, one held for its unknown SKU
    assert "Recent syncs" in client.get(page).get_data(as_text=True)
    kept = db.session.get(ReportUpload, int(upload_id))
    assert kept.content is None and kept.sync_id == run.id  # let go of once imported

    again = confirm(upload_id)  # the button pressed twice, or the page sent again
    assert again.status_code == 409 and "imported already" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChannelSync)) == 1


def test_an_upload_is_imported_only_into_its_own_channel_and_is_cleared_out_when_left_a_day(app, shop):
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    other = channel("Amazon DE", ChannelKind.AMAZON)
    client = admin_client(app, shop)
    report = tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "2", "20.00")])
    kept = reports.keep_upload(amazon, "amazon-all-orders", "orders.txt", report.encode(), None)

    elsewhere = client.post(f"/channels/{other.id}/reports", data={
        "csrf_token": page_token(client, f"/channels/{other.id}"), "kind": "amazon-all-orders", "confirmed": "1",
        "upload": str(kept)})
    assert elsewhere.status_code == 404 and "upload the file again" in elsewhere.get_data(as_text=True)
    assert order_count() == 0

    with write_transaction():
        db.session.get(ReportUpload, kept).created_at -= reports.UPLOAD_KEPT_FOR + timedelta(minutes=1)
    reports.keep_upload(amazon, "amazon-all-orders", "next.txt", report.encode(), None)
    db.session.rollback()
    assert db.session.scalars(sa.select(ReportUpload.filename)).all() == ["next.txt"]
    assert order_count() == 0


def test_an_upload_without_a_file_or_kind_is_refused_with_a_message(app, shop):
    amazon = channel("Amazon", ChannelKind.AMAZON)
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"
    no_file = client.post(f"/channels/{amazon.id}/reports", data={"csrf_token": page_token(client, page),
                                                                   "kind": "amazon-all-orders"})
    assert no_file.status_code == 422 and "Choose a report file" in no_file.get_data(as_text=True)
    no_kind = client.post(f"/channels/{amazon.id}/reports", data={"csrf_token": page_token(client, page), "kind": "x"})
    assert no_kind.status_code == 422 and "what kind of report" in no_kind.get_data(as_text=True)
    assert order_count() == 0


def test_channels_sync_from_the_command_line_imports_and_reports(app, shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.add(amazon_order("202-0000009-0000009", items=[("A", 2, "25.00")]))
    result = app.test_cli_runner().invoke(args=["channels", "sync", "--channel", amazon.name])
    assert result.exit_code == 0, result.output
    assert f"{amazon.name}: ok; 1 new" in result.output
    again = app.test_cli_runner().invoke(args=["channels", "sync"])
    assert again.exit_code == 0 and "0 new" in again.output
    assert order_count() == 1 and check_invariants() == []


def test_syncing_a_channel_that_is_not_a_marketplace_is_refused(app, shop):
    result = app.test_cli_runner().invoke(args=["channels", "sync", "--channel", shop.web.name])
    assert result.exit_code != 0 and "Error" in result.output


def test_a_script_creates_an_amazon_channel_with_its_credentials_and_syncs_it(app, shop, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.add(amazon_order("202-0000019-0000019", items=[("A", 1, "25.00")]))
    runner = app.test_cli_runner()
    created = runner.invoke(args=[
        "channels", "create", "Amazon US", "--kind", "amazon", "--client-id", AMAZON_CREDENTIALS["client_id"],
        "--client-secret", AMAZON_CREDENTIALS["client_secret"], "--refresh-token", AMAZON_CREDENTIALS["refresh_token"],
        "--marketplace-id", MARKETPLACE_ID, "--api-url", amazon_fake.url, "--token-url", f"{amazon_fake.url}/auth/o2/token"])
    assert created.exit_code == 0, created.output
    assert "Ready to sync" in created.output and AMAZON_CREDENTIALS["client_secret"] not in created.output

    synced = runner.invoke(args=["channels", "sync", "--channel", "Amazon US"])
    assert synced.exit_code == 0 and "Amazon US: ok; 1 new" in synced.output, synced.output
    assert order_count() == 1 and check_invariants() == []


def test_the_cli_says_what_a_marketplace_channel_still_needs(app, shop):
    result = app.test_cli_runner().invoke(args=["channels", "create", "eBay DE", "--kind", "ebay", "--client-id", "x"])
    assert result.exit_code == 0, result.output
    assert "Before it can sync, set on the channel's page: client-secret, refresh-token, api-url" in result.output


def test_cli_options_that_do_not_fit_the_kind_are_refused_and_nothing_is_made(app, shop):
    runner = app.test_cli_runner()
    webhook_secret = runner.invoke(args=["channels", "create", "Amazon", "--kind", "amazon", "--secret", "s"])
    credentials_on_api = runner.invoke(args=["channels", "create", "Site", "--kind", "api", "--client-id", "x"])
    ebay_marketplace = runner.invoke(args=["channels", "create", "eBay", "--kind", "ebay", "--marketplace-id", "A1"])
    assert webhook_secret.exit_code == 2 and "--client-secret" in webhook_secret.output
    assert credentials_on_api.exit_code == 2 and "amazon and ebay" in credentials_on_api.output
    assert ebay_marketplace.exit_code == 2 and "has no marketplace-id" in ebay_marketplace.output
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesChannel)) == 2  # the shop's own two


def test_the_channel_screens_show_the_last_sync_what_it_imported_and_its_errors(app, shop, amazon, amazon_fake):
    from oms_web.channels.sync import sync_channel

    shop.product("A", in_hand=10)
    amazon_fake.add(amazon_order("202-0000061-0000061", items=[("A", 1, "10.00")]),
                    amazon_order("202-0000062-0000062", items=[("NOT-OURS", 1, "10.00")]))
    sync_channel(amazon.id, sleep=lambda s: None)
    amazon_fake.add(amazon_order("202-0000061-0000061", status="Canceled", updated="2026-11-01T12:00:00Z"))
    sync_channel(amazon.id, sleep=lambda s: None)
    db.session.rollback()
    client = admin_client(app, shop)

    overview = client.get("/channels").get_data(as_text=True)
    page = client.get(f"/channels/{amazon.id}").get_data(as_text=True)

    assert re.search(r"ok · 0 new · <span class=\"warn\">1 error\(s\)</span>", overview)
    rows = re.findall(r"<tr><td>[^<]+</td><td>api</td><td>(\w+)</td><td class=\"num\">(\d+)</td>"
                      r"<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", page)
    assert rows == [("ok", "0", "0", "0", "1"), ("ok", "1", "0", "1", "0")]  # newest first: new, repeats, held, skipped
    assert "202-0000061-0000061: Cancelled on Amazon UK after it was imported as" in page


def test_an_admin_maps_a_channel_sku_on_screen_and_releases_the_order_it_held(app, shop):
    from oms_web.channels.manage import create_channel

    shop.product("MUG-BLUE", in_hand=5)
    store = create_channel("Store API", ChannelKind.API)
    held = app.test_client().post("/api/v1/orders", headers={"Authorization": f"Bearer {store.api_key}"}, json={
        "order_id": "W-77", "customer": {"name": "Ada"}, "lines": [{"sku": "blue-mug", "quantity": 2, "unit_price": "9.00"}]})
    assert held.status_code == 201 and held.get_json()["stage"] == "needs_attention"
    order_id = held.get_json()["id"]
    client = admin_client(app, shop)
    page = f"/channels/{store.channel.id}"

    def map_sku(**form):
        return client.post(f"{page}/sku-map", data={"csrf_token": page_token(client, page), **form})

    blank = map_sku(channel_sku="blue-mug", product_sku="  ")
    unknown = map_sku(channel_sku="blue-mug", product_sku="NO-SUCH")
    assert blank.status_code == 422 and "Enter the SKU of our product" in blank.get_data(as_text=True)
    assert unknown.status_code == 422 and "No product has the SKU NO-SUCH" in unknown.get_data(as_text=True)
    db.session.rollback()
    assert (db.session.get(SalesChannel, store.channel.id).settings or {}).get("sku_map", {}) == {}

    mapped = map_sku(channel_sku="blue-mug", product_sku="mug-blue")
    assert mapped.status_code == 200 and "MUG-BLUE" in mapped.get_data(as_text=True)
    released = client.post(f"/orders/{order_id}/release", data={"csrf_token": page_token(client, f"/orders/{order_id}")})
    assert released.status_code in (200, 302)
    db.session.rollback()
    order = db.session.get(Order, order_id)
    assert order.hold_reason is None and [(l.sku, l.allocated) for l in order.lines] == [("MUG-BLUE", 2)]
    assert check_invariants() == []


def _bad_files() -> dict[str, tuple[bytes, str]]:
    good_row = all_orders_row("202-1", "MUG", "1", "5.00")
    return {
        # csv's field limit is 131,072 characters: one longer cell made a 500.
        "a field over csv's limit": (tsv(ALL_ORDERS, [{**good_row, "product-name": "x" * 140_000}]).encode(),
                                     "cannot be read"),
        # A stray quote in an eBay file swallows the rest of the file into one field.
        "a quote in an eBay file that never closes": (
            b'Order Number,Quantity,Custom Label\n"12-1,1,A\n' + b"12-2,1,A\n" * 20_000, "cannot be read"),
        "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary data"),
        "an Excel workbook": (b"PK\x03\x04" + b"\x00" * 100, "Excel workbook"),
        "UTF-16 without its byte order mark": (tsv(ALL_ORDERS, [good_row]).encode("utf-16-le"), "binary data"),
        "the wrong headers": (b"order,item,qty\n202-1,MUG,1\n", "No header line"),
        "the right header, a required column missing": (
            tsv([h for h in ALL_ORDERS if h != "quantity"], [good_row]).encode(), "no &#39;quantity&#39; column"),
        "too many lines": (tsv(ALL_ORDERS, [good_row]).encode() + b"\n" * 300_001, "at most 300,000"),
    }


@pytest.mark.parametrize("what", list(_bad_files()))
def test_a_malformed_report_file_is_refused_on_the_upload_screen_and_nothing_is_kept(app, shop, what):
    data, message = _bad_files()[what]
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    ebay = channel("eBay", ChannelKind.EBAY)
    sales_channel, kind = (ebay, "ebay-orders") if "eBay" in what else (amazon, "amazon-all-orders")
    client = admin_client(app, shop)
    page = f"/channels/{sales_channel.id}"
    token = page_token(client, page)
    before = shop.snapshot()

    response = client.post(f"{page}/reports", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": kind, "file": (io.BytesIO(data), "orders.txt")})

    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Import a report file" in html
    assert message in html, html[html.find('class="error"'):][:300]
    assert shop.snapshot() == before and order_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportUpload)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChannelSync)) == 0


def test_an_upload_named_with_a_nul_byte_is_refused_and_nothing_is_kept(app, shop):
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"

    response = client.post(f"{page}/reports", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, page), "kind": "amazon-all-orders",
        "file": (io.BytesIO(tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "1", "5.00")]).encode()), "orders\x00.txt")})

    # The app's one NUL rule (web.TextValues) covers an uploaded file's name as well as every form value.
    assert response.status_code == 400 and "holds a NUL character" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalars(sa.select(ReportUpload.filename)).all() == []


def test_a_report_bringing_only_payments_and_cancellations_is_previewed_and_applied(app, shop):
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    first = tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "1", "5.00", **{"order-status": "Pending"}),
                             all_orders_row("202-2", "MUG", "1", "5.00"),
                             all_orders_row("202-3", "MUG", "1", "5.00")])
    reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, first.encode())
    # A day later: 202-1 is paid, 202-2 was cancelled by the buyer, 202-3 is as it was. No new order.
    later = tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "1", "5.00"),
                             all_orders_row("202-2", "MUG", "1", "5.00",
                                            **{"order-status": "Cancelled", "item-status": "Cancelled"}),
                             all_orders_row("202-3", "MUG", "1", "5.00")])
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"
    before = shop.snapshot()

    preview = client.post(f"{page}/reports", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, page), "kind": "amazon-all-orders",
        "file": (io.BytesIO(later.encode()), "orders.txt")})

    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and shop.snapshot() == before
    assert "Changes to orders imported before (2)" in html
    assert "paid: clear to ship" in html and "cancelled on the channel" in html
    button = re.search(r"<button class=\"primary\"[^>]*>[^<]*</button>", html).group(0)
    assert "disabled" not in button and "Import 0 order(s) and apply 2 change(s)" in button
    upload_id = re.search(r'name="upload" value="([0-9]+)"', html).group(1)

    done = client.post(f"{page}/reports", data={"csrf_token": page_token(client, page), "kind": "amazon-all-orders",
                                                "confirmed": "1", "upload": upload_id})

    assert done.status_code == 200 and "Report imported" in done.get_data(as_text=True)
    db.session.rollback()
    found = {o.channel_order_id: o for o in db.session.scalars(sa.select(Order).execution_options(populate_existing=True))}
    assert found["202-1"].payment_status.value == "paid"
    assert found["202-2"].hold_reason and "Cancelled on Amazon" in found["202-2"].hold_reason
    assert found["202-3"].hold_reason is None
    run = db.session.scalars(sa.select(ChannelSync).order_by(ChannelSync.id.desc())).first()
    assert (run.imported, run.updated) == (0, 2)
    assert order_count() == 3 and check_invariants() == []


def test_a_report_that_changes_nothing_offers_nothing_to_import(app, shop):
    shop.product("MUG", in_hand=5)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    report = tsv(ALL_ORDERS, [all_orders_row("202-1", "MUG", "1", "5.00")])
    reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, report.encode())
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"

    preview = client.post(f"{page}/reports", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, page), "kind": "amazon-all-orders",
        "file": (io.BytesIO(report.encode()), "orders.txt")})

    button = re.search(r"<button class=\"primary\"[^>]*>[^<]*</button>", preview.get_data(as_text=True)).group(0)
    assert "disabled" in button and "Import 0 order(s)" in button


def test_an_uploaded_report_is_read_from_its_spooled_file_not_whole_into_memory(app, shop):
    """werkzeug spools an upload to disk as it arrives; the report is read from there, a megabyte at a
    time. Read whole (as bytes, then as text) a 24 MB file cost 48 MB or more per upload."""
    amazon = channel("Amazon", ChannelKind.AMAZON)
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"
    token = page_token(client, page)
    row = "\t".join(all_orders_row("202-1", "MUG", "1", "5.00").get(h, "") for h in ALL_ORDERS) + "\n"
    # Only the last byte gives it away as no report: the whole file must be read to refuse it.
    data = tsv(ALL_ORDERS, []).encode() + row.encode() * (24_000_000 // len(row)) + b"\x00"
    upload = EnvironBuilder(path=f"{page}/reports", method="POST", data={
        "csrf_token": token, "kind": "amazon-all-orders", "file": (io.BytesIO(data), "orders.txt")})

    tracemalloc.start()
    try:
        response = client.open(upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 422 and "binary data" in response.get_data(as_text=True)
    assert peak < 12_000_000, f"{peak:,} bytes at the peak for a {len(data):,}-byte upload"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportUpload)) == 0
