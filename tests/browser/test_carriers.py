"""Done when: the pack station buys a label by the cheapest rule and prints it; a tracker webhook marks it
delivered; the order reaches Fulfilled on its own and the customer's email is in the sink. Against the
fake EasyPost and a local SMTP sink, both on loopback."""
from __future__ import annotations

import io

import requests
import sqlalchemy as sa
from playwright.sync_api import expect
from pypdf import PdfReader

from oms_web import tasks
from oms_web.extensions import db
from oms_web.models import CarrierAccount, Job, LabelPurchase, OrderStatus, PackagePreset

from ..helpers.easypost_fake import API_KEY, FakeEasyPost
from ..helpers.mail_sink import smtp_sink
from .conftest import screenshot, sign_in

SECRET = "browser-webhook-secret"


def scan(page, code: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_a_label_bought_at_the_pack_station_is_tracked_to_fulfilled_and_the_customer_emailed(
        open_page, shop, live_server):
    fake = FakeEasyPost()
    app = live_server.app
    try:
        with smtp_sink() as sink:
            app.config.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=sink.port)
            db.session.add(CarrierAccount(service="easypost", api_key=API_KEY, webhook_secret=SECRET,
                                          base_url=fake.url, label_format="PDF"))
            db.session.add(PackagePreset(name="Small box", length_mm=220, width_mm=160, height_mm=100, tare_grams=80))
            shop.web.rate_rule, shop.web.ship_email = "cheapest", True
            mug = shop.product("MUG-BLUE", in_hand=10)
            mug.weight_grams = 350
            db.session.commit()
            order = shop.order_for("Ada Lovelace", ("MUG-BLUE", 1))

            page = open_page()
            sign_in(page, shop.staff, "/pack")
            page.get_by_label("Box").select_option(label="Small box (220×160×100 mm, 80 g)")
            page.get_by_label("Weighed (g)").fill("455")
            screenshot(page, "pack-station-box")
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the station scrolls sideways"
            screenshot(page, "pack-station-box-390")
            page.set_viewport_size({"width": 1280, "height": 800})
            page.get_by_label("Scan").focus()
            scan(page, order.number)
            with page.context.expect_page() as label:
                scan(page, "MUG-BLUE")  # the last unit: the label is bought, the parcel packed, its label opens
            expect(page.locator(".pack-message")).to_contain_text(f"packed: 1 unit(s) of {order.number}")
            label.value.close()
            shop.fresh()
            purchase = db.session.scalar(sa.select(LabelPurchase))
            assert purchase.parcel["preset"] == "Small box" and purchase.parcel["weight_grams"] == 455  # as weighed
            expect(page.get_by_label("Weighed (g)")).to_have_value("")  # the next parcel is weighed afresh
            assert (purchase.carrier, purchase.carrier_service, purchase.status) == ("USPS", "Ground", "recorded")
            printed = page.request.get(f"/orders/{order.id}/shipments/{purchase.shipment_id}/label.pdf")
            page_one = PdfReader(io.BytesIO(printed.body())).pages[0]
            assert (page_one.mediabox.width, page_one.mediabox.height) == (288, 432)  # the carrier's 4x6 label

            for status in ("in_transit", "delivered"):
                body, headers = fake.event(purchase.tracking_code, status, SECRET)
                assert requests.post(f"{live_server.url}/webhooks/easypost", data=body, headers=headers,
                                     timeout=10).status_code == 200
            assert shop.order_row(order.id).status is OrderStatus.FULFILLED
            page.goto(f"/orders/{order.id}")
            expect(page.locator("#order-shipments")).to_contain_text("Label bought: USPS Ground")
            expect(page.locator("#order-shipments")).to_contain_text("Delivered")
            screenshot(page, "order-label-bought")

            shop.fresh()
            for job_id in db.session.scalars(sa.select(Job.id).where(Job.kind == "customer_email")).all():
                shop.fresh()
                tasks.run_job(job_id)  # what a worker does with the queued email
            assert [m["To"] for m in sink.messages] == ["ada.lovelace@example.com"]
            assert purchase.tracking_code in sink.messages[0].as_string()

            # On the order page staff see the rates, the rule's choice ticked, and may pick another.
            second = shop.order_for("Alan Turing", ("MUG-BLUE", 2))
            page.goto(f"/orders/{second.id}")
            page.get_by_role("button", name="Get rates").click()
            expect(page.locator("#ship-rates")).to_contain_text("UPS NextDayAir")
            expect(page.get_by_label("USPS Ground", exact=False)).to_be_checked()
            screenshot(page, "order-rates-desktop")
            page.set_viewport_size({"width": 390, "height": 844})
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the rates scroll sideways"
            screenshot(page, "order-rates-390")
            page.set_viewport_size({"width": 1280, "height": 800})
            page.get_by_label("UPS NextDayAir", exact=False).check()
            page.get_by_role("button", name="Buy label and pack").click()
            expect(page.locator("#order-shipments")).to_contain_text("Label bought: UPS NextDayAir")
    finally:
        fake.close()


def test_the_carriers_screen_at_desktop_and_phone_width(open_page, shop):
    db.session.add(CarrierAccount(service="easypost", api_key=API_KEY, webhook_secret=SECRET,
                                  base_url="https://api.easypost.com/v2", label_format="ZPL"))
    db.session.add(PackagePreset(name="Small box", length_mm=220, width_mm=160, height_mm=100, tare_grams=80))
    db.session.commit()
    page = open_page()
    sign_in(page, shop.admin, "/carriers")
    expect(page.locator("h1")).to_have_text("Carriers")
    assert API_KEY not in page.content()
    screenshot(page, "carriers-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "carriers-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the Carriers screen scrolls sideways"
