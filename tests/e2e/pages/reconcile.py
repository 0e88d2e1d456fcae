"""The catalog's Amazon states, the home page's counts and the Amazon-only list, as a merchant sees them."""

from __future__ import annotations

from playwright.sync_api import Locator

from tests.e2e.pages.base import BasePage


class ReconcilePages(BasePage):
    """The pages that show what Amazon really shows."""

    def open_home(self) -> None:
        """Open the home page."""
        self.page.goto(self.base_url + "/")

    def amazon_counts(self) -> Locator:
        """The "What Amazon shows now" card of the home page."""
        return self.page.get_by_role("region", name="What Amazon shows now")

    def filter_catalog(self, label: str) -> None:
        """Choose a state in the catalog's "Show" filter."""
        self.page.get_by_label("Show", exact=True).select_option(label=label)

    def results(self) -> Locator:
        """The catalog's results table."""
        return self.page.locator("#catalog-results")
