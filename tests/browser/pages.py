"""What the tests look at on an order's page, by what a person sees there."""
from playwright.sync_api import Locator, Page, expect

# The lines table's columns, left to right.
LINE_COLUMNS = ("sku", "product", "ordered", "allocated", "backordered", "shipped", "invoiced", "unit price")


def status_badge(page: Page) -> Locator:
    return page.locator("#order-header .title .badge").nth(0)


def stage_badge(page: Page) -> Locator:
    return page.locator("#order-header .title .badge").nth(1)


def line_row(page: Page, sku: str) -> Locator:
    return page.locator("#order-lines tbody tr").filter(has=page.locator("td:first-child", has_text=sku))


def line_cell(page: Page, sku: str, column: str) -> Locator:
    return line_row(page, sku).locator("td").nth(LINE_COLUMNS.index(column))


def choose_product(page: Page, field: Locator, typed: str, sku: str) -> None:
    """Type part of a product's name or SKU, wait for the suggestion, and pick it (what choosing it does)."""
    field.fill(typed)
    expect(page.locator(f'#product-options option[value="{sku}"]')).to_be_attached()
    field.fill(sku)
