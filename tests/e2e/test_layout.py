"""In a real browser: nothing is cut off, hidden in a small scroll box, or shown to the wrong user."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from tests.conftest import PASSWORD, Merchant
from tests.e2e.pages.base import BasePage
from tests.fixtures.worker import Seller, add_products, run_sync
from wizard.models.base import utcnow
from wizard.models.catalog import CatalogImport

PHONE = {"width": 375, "height": 800}


def open_as(browser: Browser, base_url: str, email: str, viewport: dict[str, int] | None = None) -> Page:
    """Open a browser page of the given size, signed in as ``email``."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    BasePage(page, base_url).sign_in(email, PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def add_import(db: Session, account_id: int, **values: Any) -> CatalogImport:
    """Record a CSV import as the importer leaves it."""
    job = CatalogImport(account_id=account_id, filename="products.csv", **values)
    db.add(job)
    db.commit()
    return job


@pytest.mark.e2e
def test_the_catalog_table_fits_its_card_on_a_1280px_screen_after_a_sync(
        browser: Browser, live_server: Any, merchant: Merchant, seller: Seller, db: Session,
        redis_url: str) -> None:
    add_products(db, seller.account_id, 30, prefix="OUTDOOR-TENT-2P-")
    run_sync(redis_url, seller.account_id)
    page = open_as(browser, live_server.url, merchant.user("admin").email)

    page.goto(live_server.url + "/catalog/")

    expect(page.get_by_role("cell", name="Accepted").first).to_be_visible()
    wrap = page.locator(".catalog-results .table-wrap")
    inner, box = wrap.evaluate("w => [w.scrollWidth, w.clientWidth]")
    assert inner <= box, f"the catalog table is {inner}px wide in a {box}px box: its last column is cut off"
    page.context.close()


@pytest.mark.e2e
def test_every_import_error_is_visible_on_a_phone_without_an_inner_scroll_box(
        browser: Browser, live_server: Any, merchant: Merchant, db: Session) -> None:
    errors = [{"line": n, "sku": f"TENT-{n}", "field": "price",
               "reason": "The price must be a number with at most 2 decimals, like 149.00 (no dollar sign)."}
              for n in range(2, 7)]
    job = add_import(db, merchant.account.id, status="done", total_rows=9, processed_rows=9, written_rows=4,
                     error_count=5, errors_json=json.dumps(errors), finished_at=utcnow())
    page = open_as(browser, live_server.url, merchant.user("admin").email, PHONE)

    page.goto(f"{live_server.url}/catalog/import/{job.id}")

    box = page.locator(".import-errors")
    expect(box.get_by_role("row")).to_have_count(6)
    inner, height = box.evaluate("b => [b.scrollHeight, b.clientHeight]")
    assert inner <= height, f"{inner}px of errors sit in a {height}px scroll box"
    page.context.close()


@pytest.mark.e2e
def test_the_import_card_does_not_start_with_an_empty_dashed_line(
        browser: Browser, live_server: Any, merchant: Merchant, db: Session) -> None:
    job = add_import(db, merchant.account.id, status="done", total_rows=3, processed_rows=3, written_rows=3,
                     finished_at=utcnow())
    page = open_as(browser, live_server.url, merchant.user("admin").email)

    page.goto(f"{live_server.url}/catalog/import/{job.id}")

    progress = page.locator("#import-progress")
    expect(progress).to_contain_text("Import finished: 3 products saved")
    assert progress.evaluate("p => getComputedStyle(p).borderTopStyle") == "none"


@pytest.mark.e2e
def test_the_no_javascript_refresh_hint_is_hidden_from_javascript_users(
        browser: Browser, live_server: Any, merchant: Merchant, db: Session) -> None:
    job = add_import(db, merchant.account.id, status="running", total_rows=100, processed_rows=40)
    page = open_as(browser, live_server.url, merchant.user("admin").email)

    page.goto(f"{live_server.url}/catalog/import/{job.id}")

    expect(page.get_by_text("Importing… 40 of about 100 rows")).to_be_visible()
    expect(page.get_by_text("without JavaScript")).not_to_be_visible()
    page.context.close()
    no_js = browser.new_context(java_script_enabled=False).new_page()
    BasePage(no_js, live_server.url).sign_in(merchant.user("admin").email, PASSWORD)
    no_js.goto(f"{live_server.url}/catalog/import/{job.id}")
    expect(no_js.get_by_text("to update the progress without JavaScript")).to_be_visible()
    no_js.context.close()


@pytest.mark.e2e
def test_the_home_stepper_shows_whole_step_names_on_a_phone(
        browser: Browser, live_server: Any, merchant: Merchant) -> None:
    page = open_as(browser, live_server.url, merchant.user("admin").email, PHONE)

    page.goto(live_server.url + "/")

    labels = page.locator(".stepper .step-label")
    expect(labels).to_have_count(4)
    cut = labels.evaluate_all("ls => ls.filter(l => l.scrollWidth > l.clientWidth).map(l => l.textContent)")
    assert cut == [], f"step names cut off at 375 px: {cut}"
    page.context.close()


@pytest.mark.e2e
def test_an_admin_copies_a_new_api_token_with_the_copy_button(
        browser: Browser, live_server: Any, merchant: Merchant) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    BasePage(page, live_server.url).sign_in(merchant.user("admin").email, PASSWORD)
    page.goto(live_server.url + "/catalog/api-tokens")
    page.get_by_label("Name").fill("Ecommerce platform")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New API token").input_value()
    assert token.startswith("ecm_")

    page.get_by_role("button", name="Copy").click()

    expect(page.get_by_role("status")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    context.close()
