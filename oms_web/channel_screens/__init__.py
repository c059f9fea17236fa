"""The channels screens (admin): beside the other screens, apart from the channels' machine endpoints
(the order API and the webhooks, in oms_web/channels/) and the work behind both."""
from flask import Blueprint

# Named "channels", as before the screens moved here: URLs and url_for names are unchanged.
bp = Blueprint("channels", __name__)

from . import routes  # noqa: E402,F401
