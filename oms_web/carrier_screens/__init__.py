"""The Carriers screen (admin): the label service's account (keys masked), package presets, each
channel's rate rule and customer emails; and the service's tracker webhook (public, signed)."""
from flask import Blueprint

bp = Blueprint("carriers", __name__)

from . import routes  # noqa: E402,F401
