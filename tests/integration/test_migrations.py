"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import wizard.models  # noqa: F401 - registers every table
from wizard.db import engine_for
from wizard.migrate import upgrade
from wizard.models.catalog_search import managed_here


def test_migrations_create_the_schema_the_models_describe(empty_database_url: str,
                                                          database_kind: str) -> None:
    upgrade(empty_database_url)
    engine = engine_for(empty_database_url)
    assert engine.dialect.name == database_kind
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                "compare_server_default": True,
                                                                "include_name": managed_here})
        differences = compare_metadata(context, SQLModel.metadata)
        tables = {name for name in inspect(connection).get_table_names() if managed_here(name, "table")}
    assert differences == [], f"models and migrations disagree; run `make migration`: {differences}"
    assert tables == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_migrations_can_run_twice_without_changing_anything(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    upgrade(empty_database_url)
    with engine_for(empty_database_url).connect() as connection:
        version = connection.exec_driver_sql("select version_num from alembic_version").scalar_one()
    assert version
