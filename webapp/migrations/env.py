"""Alembic environment for Flask-Migrate: the app's engine and metadata, batch mode for SQLite."""

import logging

from alembic import context
from flask import current_app

logger = logging.getLogger("alembic.env")
config = context.config
migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata


def render_item(type_, obj, autogen_context):
    """Write the app's UTCDateTime as a plain timezone-aware DateTime in migration files."""
    from webapp.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def process_revision_directives(context_, revision, directives):
    """Do not write an empty migration when nothing changed."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(url=str(migrate_ext.db.engine.url), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    args = dict(migrate_ext.configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.setdefault("compare_type", True)
    args["render_as_batch"] = migrate_ext.db.engine.dialect.name == "sqlite"
    with migrate_ext.db.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=render_item,
            **args,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
