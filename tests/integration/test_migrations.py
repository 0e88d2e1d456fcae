"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import wizard.models  # noqa: F401 - registers every table
from wizard.db import engine_for
from wizard.migrate import upgrade


def test_migrations_create_the_schema_the_models_describe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    upgrade(url)
    with engine_for(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], f"models and migrations disagree; run `make migration`: {differences}"


def test_migrations_can_run_twice_without_changing_anything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.sqlite'}"
    upgrade(url)
    upgrade(url)
    with engine_for(url).connect() as connection:
        version = connection.exec_driver_sql("select version_num from alembic_version").scalar_one()
    assert version
