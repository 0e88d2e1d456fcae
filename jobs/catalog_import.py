"""The CSV import job: thin wiring around ``wizard.catalog.importer.run_import``."""

from __future__ import annotations

from wizard.catalog.importer import import_dir_of, run_import
from wizard.config import from_environment
from wizard.tasks import schedule_sync_soon


def import_catalog(import_id: int) -> None:
    """Run (or resume) the stored CSV import ``import_id``, then schedule a sync if rows were written."""
    config = from_environment()
    run_import(config["DATABASE_URL"], import_dir_of(config), import_id, on_done=schedule_sync_soon)
