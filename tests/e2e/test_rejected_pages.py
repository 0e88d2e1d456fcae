"""In a real browser: the SKUs Amazon rejected, on the Sync page and in the catalog, pass axe-core and fit a
phone, and a manager sends one again with its row's "Try again" (issue 9 §1)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from tests.e2e.pages.base import BasePage
from tests.e2e.test_accessibility import check_pages, phone_and_desktop  # noqa: F401 - a fixture
from tests.fixtures.worker import Seller, add_products, run_sync

REJECTED = "UNKNOWN-0000000"  # the sandbox answers 4000001: not in the seller's Amazon catalog


@pytest.mark.e2e
def test_rejected_skus_are_shown_accessibly_and_try_again_sends_one_again(
        phone_and_desktop: list[Page], live_server: Any, merchant: Any, seller: Seller,  # noqa: F811
        db: Session, redis_url: str, sandbox: Any) -> None:
    add_products(db, seller.account_id, 2, prefix="UNKNOWN-")
    add_products(db, seller.account_id, 20)
    run_sync(redis_url, seller.account_id)

    check_pages(phone_and_desktop, live_server.url, merchant.user("manager").email,
                [("sync, rejected SKUs", "/sync/"),
                 ("catalog, rejected filter", "/catalog/?outcome=rejected")])

    desktop = phone_and_desktop[0]
    shots = BasePage(desktop, live_server.url)
    desktop.goto(live_server.url + "/sync/")
    rejected = desktop.get_by_role("table", name="SKUs Amazon rejected in the last sync")
    expect(rejected.get_by_role("row")).to_have_count(3)  # the header and two SKUs
    expect(rejected).to_contain_text("Create the listing in Seller Central with exactly this SKU")
    shots.screenshot("rejected", "sync-page")
    rejected.get_by_role("link", name=REJECTED).click()

    expect(desktop.get_by_label("Search by SKU or title")).to_have_value(REJECTED)
    held = "Not sent again until you change this product or your settings."
    expect(desktop.get_by_text(held)).to_be_visible()
    shots.screenshot("rejected", "catalog-row")
    desktop.get_by_role("button", name=f"Try again {REJECTED}").click()
    expect(desktop.get_by_text(f"{REJECTED} goes to Amazon again with the next sync")).to_be_visible()
    expect(desktop.get_by_text("Sent again with the next sync.")).to_be_visible()

    run_sync(redis_url, seller.account_id)
    sent = Counter(row[3] for row in sandbox.received())
    assert (sent[REJECTED], sent["UNKNOWN-0000001"]) == (2, 1)  # only the one the manager asked for
