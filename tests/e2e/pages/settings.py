"""Page object for Settings > Amazon (the wizard's step 4), by roles and labels."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from tests.e2e.pages.base import BasePage


class SettingsPage(BasePage):
    """The Amazon inventory and pricing settings page."""

    def open(self) -> None:
        """Open the page from the main menu."""
        self.menu("Amazon settings")

    @property
    def buffer(self) -> Locator:
        """The Marketplace Inventory Buffer field."""
        return self.page.get_by_label("Marketplace Inventory Buffer")

    @property
    def ceiling(self) -> Locator:
        """The Inventory Ceiling field."""
        return self.page.get_by_label("Inventory Ceiling (optional)")

    @property
    def min_price(self) -> Locator:
        """The Minimum Price Threshold field."""
        return self.page.get_by_label("Minimum Price Threshold (USD)")

    @property
    def preview(self) -> Locator:
        """The live impact preview panel."""
        return self.page.locator("#impact-preview")

    @property
    def stepper(self) -> Locator:
        """The wizard's steps."""
        return self.page.get_by_role("navigation", name="Setup steps")

    @property
    def history(self) -> Locator:
        """The settings history."""
        return self.page.get_by_role("region", name="Settings history")

    def type_into(self, field: Locator, value: str) -> None:
        """Replace a field's value key by key, as a merchant types."""
        field.fill("")
        field.press_sequentially(value, delay=40)

    def save(self) -> None:
        """Press the save button, whatever its wording."""
        self.page.get_by_role("button", name="Save").click()

    def restore_oldest(self) -> Locator:
        """Ask to restore the oldest version; return the impact panel its confirmation page shows."""
        self.history.get_by_role("link", name="Restore").last.click()
        heading = self.page.get_by_role("heading", name=re.compile("Restore the settings saved on"))
        expect(heading).to_be_visible()
        return self.page.get_by_role("complementary", name="Impact on Amazon")

    def confirm_restore(self) -> None:
        """Confirm the restore on its impact page."""
        self.page.get_by_role("button", name="Restore these settings").click()
