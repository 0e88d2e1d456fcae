"""In a real browser: when Amazon's side fails, the Grant Access page stops waiting and offers the ways on."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlmodel import Session

from tests.conftest import PASSWORD, Merchant
from tests.e2e.pages.connect import AREA, AmazonConsent, ConnectFlow
from tests.e2e.test_accessibility import axe_violations, describe
from tests.fixtures.sandbox import SandboxControl
from tests.integration.connect_support import acknowledge

pytestmark = pytest.mark.e2e


def grant_access_page(page: Page, live_server: Any, merchant: Merchant, db: Session) -> ConnectFlow:
    acknowledge(db, merchant.account)
    flow = ConnectFlow(page, live_server.url)
    flow.sign_in(merchant.user("admin").email, PASSWORD)
    page.goto(live_server.url + "/settings/integrations/amazon/grant-access")
    return flow


def expect_the_ways_on(page: Page) -> None:
    """The wait stopped, the error-code tips are open, Try again and the same-tab route are offered."""
    expect(page.locator("[data-waiting]")).to_be_hidden()
    expect(page.locator("details.error-codes")).to_have_attribute("open", "")
    problem = page.locator("[data-grant-problem]")
    expect(problem.get_by_role("button", name="Try again")).to_be_visible()
    expect(problem.get_by_role("button", name="Continue in this tab instead")).to_be_visible()


def test_after_an_amazon_error_page_md5101_the_page_stops_waiting_after_2_minutes(
        browser: Browser, live_server: Any, merchant: Merchant, db: Session, sandbox: SandboxControl) -> None:
    # CSP is bypassed only so the test can inject axe-core for the new state.
    page = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True).new_page()
    page.clock.install()
    flow = grant_access_page(page, live_server, merchant, db)
    sandbox.register_app("http://elsewhere.example")  # our redirect URI is no longer registered: MD5101

    with page.expect_popup() as opened:
        flow.grant_access.click()
    popup = opened.value
    expect(popup.get_by_text("MD5101")).to_be_visible()
    expect(page.get_by_text("Waiting for you to authorize in the Amazon window…")).to_be_visible()

    page.clock.fast_forward("02:01")

    expect(page.locator("[data-grant-problem]")).to_contain_text("No answer from Amazon after 2 minutes")
    expect_the_ways_on(page)
    expect(page.locator("details.error-codes")).to_contain_text("MD5101")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    flow.screenshot(AREA, "2e-grant-access-amazon-error")

    sandbox.register_app(live_server.url)
    with page.expect_popup() as again:
        page.get_by_role("button", name="Try again").click()
    again.value.wait_for_url(re.compile(r"/apps/authorize/consent"))
    expect(page.locator("[data-grant-problem]")).to_be_hidden()
    expect(page.get_by_text("Waiting for you to authorize in the Amazon window…")).to_be_visible()
    page.context.close()


def test_a_popup_closed_without_success_stops_the_wait_at_once(
        page: Page, live_server: Any, merchant: Merchant, db: Session, sandbox: SandboxControl) -> None:
    flow = grant_access_page(page, live_server, merchant, db)
    sandbox.register_app("http://elsewhere.example")
    with page.expect_popup() as opened:
        flow.grant_access.click()
    expect(opened.value.get_by_text("MD5101")).to_be_visible()

    opened.value.close()

    expect(page.locator("[data-grant-problem]")).to_contain_text(
        "The Amazon window closed before the authorization finished")
    expect_the_ways_on(page)
    page.locator("[data-grant-problem]").get_by_role("button", name="Continue in this tab instead").click()
    page.wait_for_url(re.compile(r"/apps/authorize/consent"))


def test_an_expired_code_is_explained_in_the_main_window(
        page: Page, live_server: Any, merchant: Merchant, db: Session, sandbox: SandboxControl) -> None:
    flow = grant_access_page(page, live_server, merchant, db)
    popup = flow.grant_in_popup()

    def expire_the_code_on_its_way_back(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)  # Amazon issues the code and redirects to our callback...
        sandbox.expire_codes()  # ...which it no longer accepts by the time we exchange it
        route.fulfill(response=answer)

    popup.route(re.compile(r"/apps/authorize/"), expire_the_code_on_its_way_back)
    AmazonConsent(popup).authorize("Acme Outdoor Co")

    problem = page.locator("[data-grant-problem]")
    expect(problem).to_contain_text("The authorization code expired — try again")
    expect(problem).to_contain_text("Nothing was connected")
    expect_the_ways_on(page)
    flow.screenshot(AREA, "2f-grant-access-code-expired")
