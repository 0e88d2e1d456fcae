"""In a real browser: a new user finishes the wizard's settings step while the preview reacts to typing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.conftest import PASSWORD
from tests.e2e.pages.settings import SettingsPage
from tests.integration.test_amazon_settings import add_products, connect


@pytest.mark.e2e
def test_a_new_user_previews_saves_finishes_setup_and_restores_an_old_version(
        page: Page, live_server: Any, merchant: Any, db: Session) -> None:
    connect(db, merchant.account, live_server.app.config["TOKEN_ENCRYPTION_KEYS"])
    add_products(db, merchant.account.id, [(f"LOW-{i}", 5, 1999) for i in range(4)]
                 + [(f"HIGH-{i}", 30, 1999) for i in range(6)])
    settings = SettingsPage(page, live_server.url)
    settings.sign_in(merchant.user("admin").email, PASSWORD)
    settings.open()
    expect(page.get_by_role("heading", name="Amazon inventory and pricing settings")).to_be_visible()
    expect(settings.stepper).to_be_visible()
    expect(settings.preview).to_contain_text("Your saved settings across 10 products")

    settings.type_into(settings.buffer, "6")
    expect(settings.preview).to_contain_text("4 in-stock listings (40%) would go out of stock on Amazon")
    expect(settings.preview).to_contain_text("5 available, below the buffer of 6 → 0")
    settings.type_into(settings.ceiling, "4")
    expect(settings.preview).to_contain_text(re.compile(r"Capped by the ceiling\s*6"))
    settings.type_into(settings.min_price, "4.999")
    error = page.locator("#min_price-error")
    expect(error).to_have_text("Use at most 2 decimal places (whole cents), like 4.99.")
    settings.type_into(settings.min_price, "5.00")
    expect(error).to_be_empty()
    settings.screenshot("settings", "settings-preview")

    settings.save()
    expect(page.get_by_role("heading", name="Setup complete")).to_be_visible()
    expect(page.get_by_text("Most changes appear within 15 to 30 minutes").first).to_be_visible()
    checklist = page.get_by_role("region", name="Setup complete")
    expect(checklist.locator(".checklist .check-done")).to_have_count(6)
    expect(checklist).not_to_contain_text("not done yet")
    expect(settings.stepper).to_have_count(0)
    settings.screenshot("settings", "settings-complete")

    settings.type_into(settings.buffer, "10")
    settings.save()
    expect(settings.history.get_by_text("Buffer: 6 units → 10 units")).to_be_visible()
    impact = settings.restore_oldest()
    expect(impact).to_contain_text(
        "Restoring these settings, compared with your current ones, across 10 products")
    expect(page.get_by_text("Buffer: 10 units → 6 units")).to_be_visible()
    settings.screenshot("settings", "settings-restore")
    settings.confirm_restore()
    expect(page.get_by_text("Restored the settings saved on")).to_be_visible()
    expect(settings.buffer).to_have_value("6")
    expect(settings.history.get_by_text("Restored", exact=True)).to_have_count(1)
    settings.screenshot("settings", "settings-history")
