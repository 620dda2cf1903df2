"""Punctual: schedule LinkedIn posts and send each to an n8n webhook at exactly the chosen second."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from . import config as config_module
from .dispatch.actions import Core
from .dispatch.store import Store
from .extensions import csrf, db, login_manager, migrate
from .models import utcnow

MIGRATIONS = str(Path(__file__).parent / "migrations")
log = logging.getLogger("punctual")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides what the environment says (tests pass TEST settings)."""
    config = dict(config or {})
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=config.pop("INSTANCE_PATH", None))
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(config_module.from_env(instance))
    app.config.update(config)
    _engine_options(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    login_manager.init_app(app)

    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            event.listen(db.engine, "connect", _sqlite_pragmas)
        if app.config.get("AUTO_MIGRATE"):
            upgrade_database(app)
        app.extensions["punctual"] = Core(store=Store(db.engine), clock=app.config.get("CLOCK") or utcnow)

    from . import api, auth, cli, htmx, posts, settings, web

    web.init_app(app)
    htmx.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(posts.bp)
    app.register_blueprint(api.bp)
    cli.init_app(app)
    return app


def _engine_options(app: Flask) -> None:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        connect_args = dict(options.get("connect_args") or {})
        # The dispatcher's threads share the pool; the busy timeout waits out the single writer.
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 30)
        options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def upgrade_database(app: Flask) -> None:
    """Bring the database to the newest migration (SQLite: done at start-up, under a file lock)."""
    from flask_migrate import upgrade

    lock_path = Path(app.instance_path) / "migrate.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            upgrade(directory=MIGRATIONS)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
