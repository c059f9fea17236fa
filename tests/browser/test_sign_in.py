"""Signing in and out, and the keyboard shortcut to the search box."""
import re

from playwright.sync_api import expect

from .conftest import allow_refusals, screenshot


def test_a_wrong_password_is_refused_and_the_right_one_opens_the_board(page, shop):
    allow_refusals(page, 401)  # the refused sign-in answers 401
    page.goto("/orders")
    expect(page.get_by_role("heading", name="Sign in to oms_web")).to_be_visible()

    page.get_by_label("Email").fill(shop.staff.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email")).to_have_value(shop.staff.email)  # kept, so only the password is retyped
    screenshot(page, "sign-in-refused")

    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/orders$"))  # where the sign-in page was asked for
    expect(page.locator(".who")).to_contain_text("staff")
    page.wait_for_load_state()  # the heading shows before the page's script listens for keys

    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#q")).not_to_be_focused()
    page.get_by_role("link", name="Products & stock").click()
    page.wait_for_load_state()  # the shortcut is there once the page's script has run
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search products")).to_be_focused()

    version = shop.user_row(shop.staff.id).session_version
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("Signed out.")
    assert shop.user_row(shop.staff.id).session_version == version + 1  # every session of this user ended
    page.goto("/orders")
    expect(page.get_by_role("heading", name="Sign in to oms_web")).to_be_visible()
