"""Page object for the Sync page."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


class SyncPage:
    """The Sync page, by roles and labels."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def sign_in(self, email: str, password: str) -> None:
        """Sign in through the real form."""
        self.page.goto(self.base_url + "/sign-in")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def open(self) -> None:
        """Open the Sync page from the main menu."""
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name="Sync").click()

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
        """The history table."""
        return self.page.get_by_role("table")
