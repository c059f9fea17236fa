"""One money format, in integer cents: the templates' money macro, the |money filter and the order API's
figures never pass through a float (which drifts a cent on large amounts)."""
from __future__ import annotations

from flask import render_template_string

from oms_web.domain.money import amount_text, decimal_text

LARGE = 1_234_567_890_123_456_789  # past 2**53: a float cannot hold it to the cent


def test_amounts_are_written_by_integer_arithmetic():
    assert amount_text(LARGE, "EUR") == "EUR 12,345,678,901,234,567.89"
    assert amount_text(-5) == "-USD 0.05"
    assert decimal_text(LARGE) == "12345678901234567.89"
    assert decimal_text(-1050) == "-10.50"


def test_the_templates_money_macro_is_the_one_format(sqlite_app):
    with sqlite_app.test_request_context():
        html = render_template_string('{% from "_fields.html" import money %}{{ money(cents, "EUR") }}', cents=LARGE)
    assert html.strip() == "EUR 12,345,678,901,234,567.89"
