"""Fixtures: one database per backend (SQLite always, Postgres when TEST_DATABASE_URL is set),
migrated once per session and emptied before each test; an app, a client, users and helpers."""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from urllib.parse import quote

# Imported now, not lazily: Hypothesis's pytest plugin imports it at the end of a run that had no
# Hypothesis test, and on CPython 3.11.7 that late import failed in ast.parse ("SystemError: AST
# constructor recursion depth mismatch") after the live-server tests had run.
import hypothesis  # noqa: F401
import pytest
import sqlalchemy as sa

from webapp import create_app, upgrade_database
from webapp.extensions import db

from .contract import FUZZ_COUNTS, ContractClient

#: The QStash path's fixtures (stand-in, live server, receiver, owner) for every test module.
pytest_plugins = ["tests.qstash_fixtures"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# CPython before 3.11.8 / 3.12.2 shares the AST converter's recursion counter between threads
# (gh-106905): an ast.parse or compile() of an AST in one thread while another thread converts an
# AST fails with "SystemError: AST constructor recursion depth mismatch". Python 3.11 parses the
# failing line of every traceback it formats (to place its ^^^ markers), so a background thread of
# one test (a dispatcher or a live server logging an exception) could break another test's
# create_app (Werkzeug compiles its URL rules from an AST). The tests' tracebacks go without the
# markers instead. Seen on 2 of 1,407 tests in one run with pytest-xdist.
if sys.version_info[:2] == (3, 11) and sys.version_info < (3, 11, 8) or (3, 12) <= sys.version_info < (3, 12, 2):
    traceback._extract_caret_anchors_from_line_segment = lambda segment: None  # type: ignore[attr-defined]

#: Test files that take minutes: started first, so the two xdist workers end together.
LONG_FIRST = ("test_python312.py", "test_vercel_build.py", "test_chaos.py", "test_openapi.py")

#: Variables the app reads; cleared so a developer's shell cannot change what the tests see.
APP_ENV_VARS = (
    "APP_ENV", "SECRET_KEY", "DATABASE_URL", "APP_URL", "SCHEDULER_BACKEND", "LOCAL_DISPATCHER",
    "N8N_WEBHOOK_URL", "N8N_WEBHOOK_AUTH_HEADER", "N8N_WEBHOOK_SECRET", "N8N_TIMEOUT",
    "DISPATCH_CONCURRENCY", "DISPATCH_LEASE", "SWEEP_INTERVAL", "MAX_LATENESS", "MAX_ATTEMPTS",
    "RETRY_BASE_DELAY", "RETRY_MAX_DELAY", "QSTASH_TOKEN", "QSTASH_URL", "QSTASH_CURRENT_SIGNING_KEY",
    "QSTASH_NEXT_SIGNING_KEY", "QSTASH_RETRIES", "QSTASH_MAX_DELAY", "CRON_SECRET",
    "RECOVER_TIME_BUDGET", "TOKEN_ENCRYPTION_KEY", "LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET",
    "LINKEDIN_REDIRECT_URI", "THROTTLE_ACCOUNT_FREE", "THROTTLE_ACCOUNT_MAX_DELAY", "THROTTLE_ADDRESS_FAILURES",
    "THROTTLE_REGISTRATIONS", "TRUSTED_PROXIES",
)


def wait_until(predicate, timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def need(reason: str):
    """Skip locally with a reason; in CI (CI=true) nothing skips: the test fails instead."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def clean_environment():
    with pytest.MonkeyPatch.context() as mp:
        for name in APP_ENV_VARS:
            mp.delenv(name, raising=False)
        yield


@dataclass
class Database:
    kind: str  # "sqlite" | "postgres"
    url: str
    migrated: bool = False


def postgres_schema_url(base: str, schema: str) -> str:
    from webapp.config import normalise_database_url

    url = normalise_database_url(base)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def make_postgres_schema(base_url: str, prefix: str) -> tuple[str, callable]:
    """A fresh schema in the test database; returns (url that uses it, drop function)."""
    from webapp.config import normalise_database_url

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_database_url(base_url), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    for attempt in range(20):  # ride out a restart (the chaos run restarts PostgreSQL)
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            break
        except sa.exc.OperationalError as exc:
            if attempt == 19:
                admin.dispose()
                need(f"PostgreSQL at TEST_DATABASE_URL is not reachable ({exc.orig.__class__.__name__}).")
            time.sleep(0.5)

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return postgres_schema_url(base_url, schema), drop


def make_pooled_database(direct_url: str, pooled_url: str) -> tuple[str, callable]:
    """A fresh database made through the direct URL, reached through the pooler; returns (pooled
    url, drop function). A database, not a schema: a transaction-mode pooler drops the
    `options=-csearch_path=…` startup parameter, and a session's SET does not outlive its transaction."""
    from sqlalchemy.engine import make_url

    from webapp.config import normalise_database_url

    name = f"punctual_pooled_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalise_database_url(direct_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        need(f"PostgreSQL at TEST_DATABASE_URL is not reachable ({exc.orig.__class__.__name__}).")

    def drop():
        with admin.connect() as conn:  # FORCE: the pooler still holds server connections to it
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(normalise_database_url(pooled_url)).set(database=name)
    return url.render_as_string(hide_password=False), drop


#: The Postgres variants carry the `postgres` mark, so a run without a server can deselect them.
#: The PgBouncer one (transaction mode) runs only for modules marked `pooler`.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
            pytest.param("pgbouncer", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config, items):
    """The PgBouncer variant of the database only for the modules marked `pooler`; and the
    minutes-long files first, so the two xdist workers of scripts/test.sh end together."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        through_pooler = callspec is not None and callspec.params.get("database") == "pgbouncer"
        (drop if through_pooler and item.get_closest_marker("pooler") is None else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    items.sort(key=lambda item: (item.path.name not in LONG_FIRST, "/e2e/" not in str(item.path)))


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        need("TEST_DATABASE_URL is not set, so the Postgres variant of this test cannot run "
             "(e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test).")
    if request.param == "pgbouncer":
        pooled = os.environ.get("TEST_PGBOUNCER_URL")
        if not pooled:
            need("TEST_PGBOUNCER_URL is not set, so the PgBouncer variant of this test cannot run "
                 "(`bash scripts/pgbouncer.sh` starts one in transaction mode and prints its URL).")
        url, drop = make_pooled_database(base, pooled)
    else:
        url, drop = make_postgres_schema(base, "punctual_test")
    yield Database("postgres", url)
    drop()


def base_config(tmp_path, database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "AUTO_MIGRATE": False,
        "LOCAL_DISPATCHER": "off",
        "APP_URL": "http://localhost",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return config


TABLES_IN_DELETE_ORDER = ("attempts", "inbox_messages", "pipeline_checks", "dispatcher_heartbeats", "auth_failures",
                          "posts", "api_tokens", "linkedin_connections", "users")


def empty_tables(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(TABLES_IN_DELETE_ORDER) + " RESTART IDENTITY CASCADE"))
        else:
            for table in TABLES_IN_DELETE_ORDER:
                conn.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
def config_overrides(request):
    """The app's configuration changes: a test's indirect parameter (see `configured`), or
    override the fixture in a test module."""
    return getattr(request, "param", {})


def configured(overrides: dict, name: str):
    """Run a test with these configuration overrides (an indirect parameter of config_overrides)."""
    return pytest.mark.parametrize("config_overrides", [overrides], indirect=True, ids=[name])


@pytest.fixture
def app(database, tmp_path, config_overrides):
    app = create_app(base_config(tmp_path, database.url, **config_overrides))
    app.test_client_class = ContractClient  # every /api answer is checked against the OpenAPI document
    with app.app_context():
        if not database.migrated:
            upgrade_database(app)
            database.migrated = True
        empty_tables(db.engine)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html) or CSRF_HEADER.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Auth:
    """Register / log in / act as a user through the real pages and the API."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def csrf(self) -> str:
        return csrf_from(self.client.get("/login" if not self.logged_in() else "/settings").text)

    def logged_in(self) -> bool:
        return self.client.get("/api/posts").status_code == 200

    def register(self, email="ada@example.com", password="correct horse", time_zone="Europe/Berlin"):
        token = csrf_from(self.client.get("/register").text)
        return self.client.post("/register", data={
            "csrf_token": token, "email": email, "password": password, "time_zone": time_zone,
        })

    def login(self, email="ada@example.com", password="correct horse", next_=None):
        token = csrf_from(self.client.get("/login").text)
        data = {"csrf_token": token, "email": email, "password": password}
        if next_ is not None:
            data["next"] = next_
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": self.csrf()})

    def api(self, method: str, path: str, **kwargs):
        """A session-authenticated API call with the CSRF header, as the browser's JS would send it."""
        headers = kwargs.pop("headers", {})
        if method.upper() not in ("GET", "HEAD"):
            headers.setdefault("X-CSRFToken", self.csrf())
        return self.client.open(path, method=method.upper(), headers=headers, **kwargs)


@pytest.fixture
def auth(app, client):
    return Auth(app, client)


def make_user(app, email="ada@example.com", password="correct horse", time_zone="Europe/Berlin"):
    from webapp.accounts.users import create_user

    with app.app_context():
        return create_user(email, password, time_zone).id


def make_token(app, user_id: int, name="test") -> str:
    from webapp import crypto
    from webapp.models import ApiToken

    token = crypto.new_api_token()
    with app.app_context():
        db.session.add(ApiToken(user_id=user_id, name=name, token_hash=crypto.hash_api_token(token)))
        db.session.commit()
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def user(app):
    """A user with an API token: (user_id, headers)."""
    user_id = make_user(app)
    return user_id, bearer(make_token(app, user_id))


@pytest.fixture
def other_user(app):
    user_id = make_user(app, email="mallory@example.com", time_zone="America/New_York")
    return user_id, bearer(make_token(app, user_id))


def pytest_terminal_summary(terminalreporter):
    """The Schemathesis figure; one line per distinct skip reason, with how many tests it skipped."""
    if FUZZ_COUNTS["requests"]:
        terminalreporter.section("Schemathesis (tests/test_openapi.py)")
        terminalreporter.line(f"requests: {FUZZ_COUNTS['requests']}, bad inputs tried: {FUZZ_COUNTS['bad inputs']}, "
                              f"server errors: {FUZZ_COUNTS['server errors']}, seconds: {FUZZ_COUNTS['seconds']}")
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.section("skipped (locally only; under CI=true these fail)")
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            terminalreporter.line(f"{count:4d} x {reason}")


# ---------------------------------------------------------------- dispatch helpers

N8N_URL = "https://n8n.test/webhook/linkedin-post"
LINKEDIN_TOKEN = "AQV-linkedin-access-token-0123456789"


@pytest.fixture
def n8n_config():
    """Overrides for an app that sends to a (mocked) n8n instead of the demo inbox."""
    return {"N8N_WEBHOOK_URL": N8N_URL, "N8N_WEBHOOK_AUTH_HEADER": "X-Punctual-Secret",
            "N8N_WEBHOOK_SECRET": "shared-secret"}


def core_of(app):
    return app.extensions["punctual"]


def connect_linkedin(app, user_id: int, *, token: str = LINKEDIN_TOKEN, expires_at=None,
                     urn: str = "urn:li:person:AbC123") -> None:
    from webapp.models import LinkedInConnection

    with app.app_context():
        connection = LinkedInConnection(user_id=user_id, person_urn=urn, expires_at=expires_at)
        connection.access_token = token
        db.session.add(connection)
        db.session.commit()


def new_post(app, user_id: int, content: str = "Hello LinkedIn", *, at=None, now=None) -> tuple[str, int]:
    """A draft, or (with `at`) a post scheduled for `at`: returns (post_id, version)."""
    from webapp.models import utcnow

    store = core_of(app).store
    now = now or utcnow()
    post_id = store.create(user_id=user_id, content=content, image_url=None, now=now)
    if at is None:
        return post_id, 0
    return post_id, store.schedule(post_id=post_id, user_id=user_id, at=at, now=now).version


def post_row(app, post_id: str):
    from webapp.models import Post

    with app.app_context():
        db.session.expire_all()
        return db.session.get(Post, post_id)


def attempts_of(app, post_id: str):
    from sqlalchemy import select

    from webapp.models import Attempt

    with app.app_context():
        return db.session.execute(
            select(Attempt).where(Attempt.post_id == post_id).order_by(Attempt.id)).scalars().all()
