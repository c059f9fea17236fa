"""The transfers screens: the list by state, a new transfer, a transfer's page with ship / receive / cancel."""
from flask import Blueprint

bp = Blueprint("transfers", __name__)

from . import routes  # noqa: E402,F401
