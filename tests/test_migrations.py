"""The migrations build exactly the schema the models describe, on SQLite and on Postgres."""

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from webapp import MIGRATIONS, create_app, enable_migrations
from webapp.extensions import db

from .conftest import base_config, make_postgres_schema, need


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        need("TEST_DATABASE_URL is not set, so migrations cannot be checked on Postgres.")
    url, drop = make_postgres_schema(base, "punctual_migrations")
    yield url
    drop()


def schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrations_match_the_models(tmp_path, empty_database_url):
    app = create_app(base_config(tmp_path, empty_database_url))
    enable_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    assert schema_differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_migrations_downgrade_to_nothing_and_back(tmp_path, empty_database_url):
    app = create_app(base_config(tmp_path, empty_database_url))
    enable_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        downgrade(directory=MIGRATIONS, revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade(directory=MIGRATIONS)
    assert schema_differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_a_fresh_sqlite_app_creates_its_database_by_itself(tmp_path):
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    app = create_app(base_config(tmp_path, url, AUTO_MIGRATE=True))
    with app.app_context():
        assert "posts" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_serving_needs_no_migration_tooling(tmp_path):
    """Alembic loads only for `flask db …` or SQLite's upgrade at start (a cold start's worth)."""
    import subprocess
    import sys

    code = ("import sys; from webapp import create_app; "
            f"create_app({{'SQLALCHEMY_DATABASE_URI': 'postgresql+psycopg://u@127.0.0.1:9/x', "
            f"'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 'k', 'AUTO_MIGRATE': False}}); "
            "print(sorted(m for m in ('alembic', 'flask_migrate', 'qstash', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
