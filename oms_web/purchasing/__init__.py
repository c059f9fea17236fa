from flask import Blueprint

bp = Blueprint("purchasing", __name__)

from . import routes  # noqa: E402,F401
