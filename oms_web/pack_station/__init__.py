from flask import Blueprint

bp = Blueprint("pack", __name__)

from . import routes  # noqa: E402,F401
