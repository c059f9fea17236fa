from flask import Blueprint

bp = Blueprint("purchasing", __name__)

from . import routes  # noqa: E402,F401


@bp.app_template_global()
def on_order_of(product_ids):
    """What the products have on order (domain.purchasing.on_order), for the product list and page."""
    from ..domain.purchasing import on_order

    return on_order(product_ids)


@bp.app_template_global()
def suppliers_of(product_id):
    from ..domain.suppliers import suppliers_of as of

    return of(product_id)
