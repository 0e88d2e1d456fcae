"""What every page of the app has: sign-in, the main menu, the banner; and screenshots for review."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Locator, Page

#: Where review screenshots go (outside the repository); unset, no screenshots are taken.
SCREENS_ROOT = Path(os.environ["SCREENSHOT_DIR"]) if os.environ.get("SCREENSHOT_DIR") else None


class BasePage:
    """A page of the web app, reached through the browser like a merchant does."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def sign_in(self, email: str, password: str) -> None:
        """Sign in through the real form."""
        self.page.goto(self.base_url + "/sign-in")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def menu(self, name: str) -> None:
        """Follow a link of the main menu."""
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()

    @property
    def banner(self) -> Locator:
        """The connection banner (an alert under the top bar)."""
        return self.page.locator(".banner")

    @property
    def heading(self) -> Locator:
        """The page's main heading."""
        return self.page.get_by_role("heading", level=1)

    def screenshot(self, area: str, name: str, page: Page | None = None) -> None:
        """Save desktop and 375 px wide screenshots under ``$SCREENSHOT_DIR/<area>/``, if it is set."""
        target = page or self.page
        if SCREENS_ROOT is None:
            return
        folder = SCREENS_ROOT / area
        folder.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(folder / f"{name}-desktop.png"), full_page=True)
        size = target.viewport_size
        target.set_viewport_size({"width": 375, "height": 800})
        target.screenshot(path=str(folder / f"{name}-375.png"), full_page=True)
        if size:
            target.set_viewport_size(size)
