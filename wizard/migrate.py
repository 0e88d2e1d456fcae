"""Run the Alembic migrations from Python (the CLI, ``make run`` and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration pointed at ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database to ``revision``."""
    from wizard.db import engine_for

    engine_for(database_url)  # creates the SQLite folder if needed
    command.upgrade(alembic_config(database_url), revision)
