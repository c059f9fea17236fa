"""What operators watch: /healthz and /readyz for the load balancer, /metrics for Prometheus (admins
or this machine only), and one JSON log line per request carrying its request id (request_log.py)."""
from flask import Blueprint, Flask

bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    """Before the screens' own hooks: every request, even one refused for its role, is timed and logged."""
    from . import request_log

    request_log.init_app(app)


from . import routes  # noqa: E402,F401
