"""In a browser: "Check with Amazon" (issue 11 §3) and the sync the guard paused (§2), at 1280 and 375 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import Session

from tests.conftest import PASSWORD
from tests.e2e.pages.base import BasePage
from tests.fixtures.worker import Seller, add_products, run_sync
from wizard.models import Product


@pytest.mark.e2e
def test_a_manager_checks_with_amazon_and_reads_each_answer(
        page: Page, live_server: Any, seller: Seller, merchant: Any, db: Session, sandbox: Any) -> None:
    add_products(db, seller.account_id, 12, prefix="TENT-", available=lambda i: 5 + i)
    add_products(db, seller.account_id, 1, prefix="UNKNOWN-", available=lambda i: 4)
    browser = BasePage(page, live_server.url)
    browser.sign_in(merchant.user("manager").email, PASSWORD)
    page.goto(live_server.url + "/sync/check/")

    page.get_by_role("button", name="Check with Amazon").click()

    expect(page.get_by_text("Amazon would refuse 1 of 13 updates checked")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_contain_text("UNKNOWN-0000000")  # what needs fixing comes first
    row = page.get_by_role("row").filter(has_text="UNKNOWN-0000000")
    expect(row).to_contain_text("Invalid")
    expect(row).to_contain_text("Create the listing in Seller Central with exactly this SKU")
    expect(page.get_by_role("row").filter(has_text="TENT-0000011")).to_contain_text("Valid")
    expect(page.get_by_role("button", name="Start syncing")).to_be_visible()
    expect(page.get_by_role("link", name="Fix first")).to_be_visible()
    browser.screenshot("urgent", "check-with-amazon")


@pytest.mark.e2e
def test_a_manager_sees_the_paused_sync_on_every_page_and_approves_it(
        page: Page, live_server: Any, seller: Seller, merchant: Any, db: Session, sandbox: Any,
        redis_url: str) -> None:
    add_products(db, seller.account_id, 30, prefix="BOOT-", available=lambda i: 9, price_cents=lambda i: 4500)
    run_sync(redis_url, seller.account_id)
    db.execute(update(Product).where(Product.account_id == seller.account_id).values(available=0))
    db.commit()
    run_sync(redis_url, seller.account_id)
    browser = BasePage(page, live_server.url)
    browser.sign_in(merchant.user("manager").email, PASSWORD)

    expect(page.get_by_role("alert").filter(has_text="A sync is paused for your approval")).to_be_visible()
    page.get_by_role("link", name="Review the paused sync").click()

    expect(page.get_by_role("heading", name="Paused sync")).to_be_visible()
    expect(page.get_by_text("30 of 30 listings Amazon shows in stock")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="9 → 0")).to_have_count(20)
    browser.screenshot("urgent", "paused-sync")
    page.get_by_role("button", name="Approve and send").click()
    expect(page.get_by_text("Approved: the sync is on its way to Amazon.")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="A sync is paused")).to_have_count(0)
