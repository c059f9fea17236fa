"""oms_web: an order management system for online retailers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import config
from .extensions import db, login_manager, migrate
from .failures import FailureLog

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(Path(__file__).resolve().parent / "migrations")


class OmsFlask(Flask):
    def log_exception(self, exc_info) -> None:  # type: ignore[override]
        # Not a traceback per request: an outage under load would fill the disk (failures.FailureLog).
        self.extensions["oms_failures"].record(exc_info)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = OmsFlask(__name__, instance_path=str(PROJECT_ROOT / "instance"), instance_relative_config=True,
                   template_folder=str(PROJECT_ROOT / "templates"), static_folder=str(PROJECT_ROOT / "static"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.defaults(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_mapping(config.from_environment())
    else:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["OMS_DEFAULT_TAX_RATE_BP"] = int(app.config["OMS_DEFAULT_TAX_RATE_BP"])
    app.config["OMS_TIMEZONE"] = config.time_zone(app.config["OMS_TIMEZONE"])
    for setting in config.BYTE_SETTINGS:
        app.config[setting] = config.byte_count(setting, app.config[setting])
    app.extensions["oms_failures"] = FailureLog(app, float(app.config["OMS_FAILURE_LOG_SECONDS"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.instance_secret_key(app.instance_path)

    if int(app.config.get("OMS_PROXIES", 0)):
        # Behind a load balancer: take the client's address (sign-in throttling) and scheme from the
        # X-Forwarded-* headers of that many trusted proxies, and from nobody else.
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = int(app.config["OMS_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]

    from . import database  # noqa: F401  (registers SQLite's connection settings)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    login_manager.init_app(app)

    login_manager.login_view = "auth.login"

    from . import tasks

    tasks.init_app(app)

    from . import ops

    ops.init_app(app)  # first: every request is timed and logged, even one refused for its role
    from .web import register_web

    register_web(app)
    from . import (auth, board, carrier_screens, catalog, channel_screens, documents, handover, jobs,
                   location_screens, orders_web, overview, pack_station, purchasing, returns_web, supplier_portal,
                   transfer_screens, users, work_site)
    from .channels import api, webhooks

    for blueprint in (auth.bp, board.bp, orders_web.bp, catalog.bp, documents.bp, overview.bp, users.bp,
                      channel_screens.bp, api.bp, webhooks.bp, jobs.bp, pack_station.bp, handover.bp, ops.bp, carrier_screens.bp,
                      returns_web.bp, work_site.bp, location_screens.bp, transfer_screens.bp, purchasing.bp,
                      supplier_portal.bp):
        app.register_blueprint(blueprint)

    from .cli import register_cli

    register_cli(app)
    return app
