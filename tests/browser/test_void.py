"""Voiding: an admin's action, with a confirmation and a reason; refused on the server to anyone else."""
from playwright.sync_api import expect

from oms_web.models import OrderStatus, Segment

from .conftest import mark_window, same_window, screenshot, sign_in
from .pages import stage_badge, status_badge


def test_f_an_admin_voids_an_order_and_a_staff_user_cannot(open_page, shop):
    shop.product("MUG-BLUE", in_hand=10)
    to_void = shop.order_for("Ada Lovelace", ("MUG-BLUE", 3))
    kept = shop.order_for("Alan Turing", ("MUG-BLUE", 2))
    assert shop.stock("MUG-BLUE") == (10, 5)

    admin = open_page()
    sign_in(admin, shop.admin, f"/orders/{to_void.id}")
    mark_window(admin)
    admin.get_by_text("Void order…").click()
    admin.get_by_label("Reason").fill("Customer cancelled by phone")
    asked = []

    def confirm(dialog):
        asked.append(dialog.message)
        dialog.accept()

    admin.once("dialog", confirm)
    admin.get_by_role("button", name=f"Void {to_void.number}").click()
    expect(status_badge(admin)).to_have_text("Void")
    assert asked == [f"Void {to_void.number}? Its committed stock is released and it cannot be undone."]
    expect(admin.locator("#order-header")).to_contain_text("Voided: Customer cancelled by phone")
    expect(admin.locator("#order-timeline")).to_contain_text("Voided: Customer cancelled by phone")
    expect(admin.get_by_text("Void order…")).to_have_count(0)
    assert same_window(admin), "voiding reloaded the page"
    order = shop.order_row(to_void.id)
    assert (order.status, order.segment, order.void_reason) == (OrderStatus.VOID, Segment.VOID,
                                                                "Customer cancelled by phone")
    assert [l.allocated for l in order.lines] == [0]
    assert shop.stock("MUG-BLUE") == (10, 2)  # its 3 units are free again
    screenshot(admin, "order-void")

    staff = open_page()
    sign_in(staff, shop.staff, f"/orders/{kept.id}")
    expect(stage_badge(staff)).to_have_text("Ready to ship")
    expect(staff.get_by_text("Void order")).to_have_count(0)
    screenshot(staff, "order-as-staff")
    token = staff.locator('meta[name="csrf-token"]').get_attribute("content")
    before = shop.snapshot()
    for headers in ({"X-CSRFToken": token}, {"X-CSRFToken": token, "HX-Request": "true"}):
        response = staff.request.post(f"/orders/{kept.id}/void", form={"reason": "trying anyway"}, headers=headers)
        assert response.status == 403
        assert "Your role does not allow this." in response.text()
    assert shop.snapshot() == before
    assert shop.order_row(kept.id).status is OrderStatus.FINALIZED
