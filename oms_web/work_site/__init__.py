from flask import Blueprint

bp = Blueprint("work_site", __name__)

from . import routes  # noqa: E402,F401
