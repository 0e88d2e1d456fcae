"""In a real browser: the catalog's new states, the home page's honest counts, and "Set these to 0" confirmed.

The state comes from the real jobs against the sandbox (see ``tests/integration/test_reconcile_pages.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.pages.reconcile import ReconcilePages
from tests.integration.test_reconcile_pages import reconciled  # noqa: F401 - the fixture


@pytest.mark.e2e
def test_a_manager_sees_amazons_states_and_confirms_setting_amazon_only_listings_to_0(
        page: Page, live_server: Any, reconciled: Any, merchant: Any, sandbox: Any) -> None:  # noqa: F811
    pages = ReconcilePages(page, live_server.url)
    pages.sign_in(merchant.user("manager").email, PASSWORD)
    pages.open_home()
    counts = pages.amazon_counts()
    expect(counts.get_by_role("link", name="Not on Amazon")).to_be_visible()
    expect(counts).to_contain_text("1 Amazon-only listing has stock and can oversell.")
    pages.screenshot("reconcile", "home-counts")

    counts.get_by_role("link", name="Not on Amazon").click()
    expect(pages.results()).to_contain_text("SKU-0000003")
    expect(pages.results()).not_to_contain_text("SKU-0000000")
    pages.results().get_by_text("What to do").click()
    expect(pages.results()).to_contain_text("Create the listing in Seller Central")
    pages.screenshot("reconcile", "catalog-not-on-amazon")

    pages.filter_catalog("Changed on Amazon outside Ecommerce")
    expect(pages.results()).to_contain_text("Amazon showed 7, Ecommerce sent 11")
    pages.screenshot("reconcile", "catalog-drifted")
    pages.filter_catalog("With issues on Amazon")
    pages.results().get_by_text("Error on Amazon").click()
    expect(pages.results()).to_contain_text("Amazon finds the price invalid.")
    expect(pages.results().get_by_role("link", name="Open in Seller Central")).to_have_attribute(
        "href", f"{live_server.app.config['AMAZON_SELLER_CENTRAL_URL']}/skucentral?mSku=SKU-0000002")
    pages.screenshot("reconcile", "catalog-issues")
    page.goto(live_server.url + "/catalog/")
    pages.screenshot("reconcile", "catalog-all")

    page.goto(live_server.url + "/catalog/amazon-only/")
    expect(page.get_by_role("note")).to_contain_text("These can oversell")
    pages.screenshot("reconcile", "amazon-only")
    page.get_by_role("link", name="Set these to 0 on Amazon…").click()
    expect(page.get_by_role("heading", name="Set 1 listing to 0 on Amazon?")).to_be_visible()
    pages.screenshot("reconcile", "amazon-only-confirm")
    page.get_by_role("button", name="Yes, set 1 listing to 0").click()
    expect(page.get_by_text("1 Amazon-only listing will be set to 0 on Amazon by the next sync")) \
        .to_be_visible()
    expect(page.get_by_text("Set to 0 requested")).to_be_visible()
    pages.screenshot("reconcile", "amazon-only-requested")
