"""Page object for the Sync page."""

from __future__ import annotations

from playwright.sync_api import Locator

from tests.e2e.pages.base import BasePage


class SyncPage(BasePage):
    """The Sync page, by roles and labels."""

    def open(self) -> None:
        """Open the Sync page from the main menu."""
        self.menu("Sync")

    def sync_now(self) -> None:
        """Press Sync now."""
        self.page.get_by_role("button", name="Sync now").click()

    @property
    def progress(self) -> Locator:
        """The progress bar of the current run."""
        return self.page.get_by_role("progressbar")

    @property
    def status_line(self) -> Locator:
        """The sentence read out with the progress bar."""
        return self.page.locator("#sync-progress label")

    @property
    def history(self) -> Locator:
        """The history table (named by its caption: the page may also list rejected SKUs in a table)."""
        return self.page.get_by_role("table", name="syncs, newest first")

    @property
    def rejected(self) -> Locator:
        """The table of SKUs Amazon rejected in the last sync."""
        return self.page.get_by_role("table", name="SKUs Amazon rejected in the last sync")
