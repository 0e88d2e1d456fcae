"""Alembic environment: the metadata comes from ``wizard.models``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import wizard.models  # noqa: F401 - registers every table
from wizard.db import engine_for
from wizard.models.catalog_search import managed_here

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")


def run_migrations() -> None:
    """Run migrations on a live connection (batch mode, so SQLite can alter tables)."""
    with engine_for(url).connect() as connection:
        context.configure(connection=connection, target_metadata=SQLModel.metadata,
                          render_as_batch=True, compare_type=True, include_name=managed_here)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
