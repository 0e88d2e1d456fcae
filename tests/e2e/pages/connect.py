"""Page objects for Settings > Integrations Settings > Amazon (steps 1 to 3) and Amazon's consent page."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.e2e.pages.base import BasePage

AREA = "connect"


class ConnectFlow(BasePage):
    """The wizard's connection steps and the Amazon integration page."""

    def open(self) -> None:
        """Open Settings > Integrations Settings > Amazon from the main menu."""
        self.menu("Integrations: Amazon")

    @property
    def stepper(self) -> Locator:
        """The wizard's steps."""
        return self.page.get_by_role("navigation", name="Setup steps")

    @property
    def checklist(self) -> Locator:
        """The guide's Connection checklist."""
        return self.page.get_by_role("region", name="Setup checklist")

    def check_popups(self) -> None:
        """Click "Check pop-ups" on the prerequisites step."""
        self.page.get_by_role("button", name="Check pop-ups").click()

    def acknowledge(self) -> None:
        """Tick the prerequisites and continue to Grant Access."""
        self.page.get_by_label("My Amazon seller account is on the Professional selling plan").check()
        self.page.get_by_label("I sell on the Amazon US marketplace").check()
        self.page.get_by_role("button", name="Continue to Grant Access").click()
        expect(self.heading).to_have_text(re.compile("Grant Ecommerce access|Re-authorize"))

    @property
    def grant_access(self) -> Locator:
        """The Grant Access button."""
        return self.page.get_by_role("button", name="Grant Access", exact=True)

    def grant_in_popup(self) -> Page:
        """Click Grant Access and return Amazon's consent window."""
        with self.page.expect_popup() as opened:
            self.grant_access.click()
        popup = opened.value
        popup.wait_for_url(re.compile(r"/apps/authorize/consent"))
        return popup

    def continue_in_this_tab(self) -> None:
        """Use the same-tab fallback offered when pop-ups are blocked."""
        self.page.get_by_role("button", name="Continue in this tab instead").click()
        self.page.wait_for_url(re.compile(r"/apps/authorize/consent"))


class AmazonConsent:
    """Amazon's (the sandbox's) consent page, in a pop-up or in the same tab."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def authorize(self, store_name: str = "Acme Outdoor Co") -> None:
        """Pick the seller account and click Authorize."""
        expect(self.page.get_by_role("heading", name="Authorize Ecommerce")).to_be_visible()
        self.page.get_by_label(store_name).check()
        self.page.get_by_role("button", name="Authorize", exact=True).click()

    def cancel(self) -> None:
        """Click Cancel."""
        self.page.get_by_role("button", name="Cancel").click()
