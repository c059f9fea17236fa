"""Test helper: makes the shop's things through the real services (or plain rows where no rule applies)."""
from __future__ import annotations

import itertools

import sqlalchemy as sa

from oms_web.domain import inventory, orders
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, Order, PaymentStatus, Product, Role, SalesChannel, User

_numbers = itertools.count(1)


class Shop:
    def __init__(self) -> None:
        self.admin = self.user(Role.ADMIN)
        self.manager = self.user(Role.MANAGER)
        self.staff = self.user(Role.STAFF)
        self.manual = self.channel("Phone", ChannelKind.MANUAL)
        self.web = self.channel("Web store", ChannelKind.API)

    def user(self, role: Role, email: str | None = None) -> User:
        user = User(email=email or f"{role.value}{next(_numbers)}@example.com", name=role.value.title(), role=role)
        user.set_password("correct horse battery")
        db.session.add(user)
        db.session.commit()
        return user

    def channel(self, name: str, kind: ChannelKind) -> SalesChannel:
        channel = SalesChannel(name=name, kind=kind)
        db.session.add(channel)
        db.session.commit()
        return channel

    def product(self, sku: str, in_hand: int = 0, price_cents: int = 1000, tax_rate_bp: int | None = None) -> Product:
        product = Product(sku=sku, name=f"Product {sku}", price_cents=price_cents, tax_rate_bp=tax_rate_bp)
        db.session.add(product)
        db.session.commit()
        if in_hand:
            inventory.receive_stock(self.manager, product.id, in_hand, "opening stock")
        return product

    def web_order(self, *lines: tuple[str, int], channel_order_id: str | None = None,
                  payment: PaymentStatus = PaymentStatus.PAID) -> Order:
        return orders.create_order(None, NewOrder(
            channel_id=self.web.id, channel_order_id=channel_order_id or f"W{next(_numbers)}",
            customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com",
                                     ship_to={"name": "Ada Lovelace", "line1": "12 St James's Sq",
                                              "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}),
            lines=[LineRequest(sku, qty) for sku, qty in lines], payment_status=payment))

    def draft(self, *lines: tuple[str, int]) -> Order:
        return orders.create_order(self.staff, NewOrder(
            channel_id=self.manual.id, customer=CustomerDetails(name="Grace Hopper", email="grace@example.com"),
            lines=[LineRequest(sku, qty) for sku, qty in lines]))

    def product_row(self, sku: str) -> Product:
        product = db.session.scalar(sa.select(Product).where(Product.sku == sku))
        db.session.refresh(product)
        return product

    def order_row(self, order_id: int) -> Order:
        order = db.session.get(Order, order_id)
        db.session.refresh(order)
        for line in order.lines:
            db.session.refresh(line)
        return order
