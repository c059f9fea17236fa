"""The locations screen (admin): where stock is kept, each with its units in hand and committed."""
from flask import Blueprint

bp = Blueprint("locations", __name__)

from . import routes  # noqa: E402,F401
