"""Punctual: schedule LinkedIn posts and send each to an n8n webhook at exactly the chosen second."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event

from . import config as config_module
from . import memory, runtime
from .extensions import csrf, db, login_manager

MIGRATIONS = str(Path(__file__).parent / "migrations")
log = logging.getLogger("punctual")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides what the environment says (tests pass TEST settings)."""
    config = dict(config or {})
    memory.limit_malloc_arenas()  # before any thread of ours starts
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=config.pop("INSTANCE_PATH", None))
    _require_folders(app)
    instance = Path(app.instance_path)
    app.config.update(config_module.from_env(instance))
    app.config.update(config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The development database lives here. Production writes nothing to instance/: a deployed
        # function's folder is read-only (Vercel), so it is made only when it is needed.
        instance.mkdir(parents=True, exist_ok=True)
    _engine_options(app)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (the login throttle counts by it) from X-Forwarded-For, as the
        # trusted proxies wrote it; a client's own X-Forwarded-For entries are ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            event.listen(db.engine, "connect", _sqlite_pragmas)
        if app.config.get("AUTO_MIGRATE"):
            upgrade_database(app)
        app.extensions["punctual"] = runtime.build_core(app)

    from . import api, cli, headers, htmx, inbox, posts, web
    from .accounts import auth, settings
    from .api import health

    web.init_app(app)
    htmx.init_app(app)
    headers.init_app(app)
    for blueprint in (auth.bp, settings.bp, posts.bp, api.bp, inbox.bp, health.bp):
        app.register_blueprint(blueprint)
    cli.init_app(app)
    _logging(app)
    runtime.maybe_start_in_process(app)
    return app


def _require_folders(app: Flask) -> None:
    """templates/ and static/ sit beside the package (the layout is fixed). A copy of webapp/ alone,
    such as a non-editable install, would answer every page with TemplateNotFound: refuse to start."""
    for name, folder in (("templates", app.template_folder), ("static", app.static_folder)):
        path = Path(app.root_path, folder or "").resolve()
        if not path.is_dir():
            raise config_module.ConfigError(
                f"Punctual's {name}/ folder is not beside the webapp package (looked for {path}): "
                "run it from the project's folder or an editable install (pip install -e .).")


def _logging(app: Flask) -> None:
    """Punctual's own log lines (dispatches, sweeps, retries) at INFO on stderr, unless testing."""
    logger = logging.getLogger("punctual")
    if app.testing or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _engine_options(app: Flask) -> None:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Every sending thread records its outcome; the loop, the sweep and requests need theirs too.
    # The default pool (5 + 10 overflow) made senders queue for a connection under a burst.
    options.setdefault("pool_size", app.config.get("DISPATCH_CONCURRENCY", 32) + 4)
    options.setdefault("max_overflow", 10)
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


def enable_migrations(app: Flask) -> None:
    """Flask-Migrate (and Alembic under it), set up only when migrations are used — `flask db …`
    or SQLite's upgrade at start — never to serve a request: it cost ~120 ms of every cold start."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=MIGRATIONS)


def upgrade_database(app: Flask) -> None:
    """Bring the database to the newest migration (SQLite: done at start-up, under a file lock)."""
    from flask_migrate import upgrade

    enable_migrations(app)
    lock_path = Path(app.instance_path) / "migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            upgrade(directory=MIGRATIONS)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
