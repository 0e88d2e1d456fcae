"""The CSV import job: thin wiring around ``wizard.catalog.importer.run_import``."""

from __future__ import annotations

from wizard.catalog.importer import import_dir_of, run_import
from wizard.config import from_environment
from wizard.reconcile import status as reconcile_status
from wizard.tasks import schedule_sync_soon


def import_catalog(import_id: int) -> None:
    """Run (or resume) the stored CSV import ``import_id``; when rows were written, recompute the stored
    counts (a new SKU may be one Amazon only had, or one Amazon lacks) and schedule a sync."""
    config = from_environment()

    def done(account_id: int) -> None:
        reconcile_status.refresh(config["DATABASE_URL"], account_id)
        schedule_sync_soon(account_id)

    run_import(config["DATABASE_URL"], import_dir_of(config), import_id, on_done=done)
