from flask import Blueprint

bp = Blueprint("returns", __name__)

from . import routes  # noqa: E402,F401
