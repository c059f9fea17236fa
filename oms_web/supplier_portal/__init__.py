"""Drop shipping's screens: the supplier's confirmation page reached by its signed link (no login), and
staff's Drop-ship screen (what waits with suppliers; a supplier's CSV uploaded)."""
from flask import Blueprint

bp = Blueprint("supplier_portal", __name__)

from . import routes  # noqa: E402,F401
