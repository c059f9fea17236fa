from flask import Blueprint

bp = Blueprint("overview", __name__)

from . import routes  # noqa: E402,F401
