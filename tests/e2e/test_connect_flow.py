"""In a real browser: the pop-up, the same-tab fallback, cancel, replayed states, re-authorize, Login URI."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from tests.conftest import PASSWORD, Merchant
from tests.e2e.pages.connect import AREA, AmazonConsent, ConnectFlow
from tests.fixtures.sandbox import SandboxControl
from tests.integration.connect_support import acknowledge
from wizard.models import Connection, ConnectionStatus
from wizard.models.base import utcnow

pytestmark = pytest.mark.e2e

VERIFIED = "Your Amazon Seller ID is verified: the link is active"


def flow_for(page: Page, live_server: Any, merchant: Merchant, role: str = "admin") -> ConnectFlow:
    flow = ConnectFlow(page, live_server.url)
    flow.sign_in(merchant.user(role).email, PASSWORD)
    expect(flow.heading).to_have_text(merchant.account.name)
    return flow


def test_a_new_admin_connects_through_the_popup_and_sees_the_seller_id_verified(
        page: Page, live_server: Any, merchant: Merchant) -> None:
    flow = flow_for(page, live_server, merchant)
    flow.open()
    expect(flow.heading).to_have_text("Connect Ecommerce to your Amazon store")
    # An admin, on the integration page: those two lines are facts already; the plan is not confirmed yet.
    expect(flow.checklist.locator(".check-done")).to_have_count(2)
    with page.expect_popup() as check:
        flow.check_popups()
    expect(page.get_by_text("Pop-ups are allowed in this browser.")).to_be_visible()
    check.value.wait_for_event("close")
    flow.screenshot(AREA, "1-prerequisites")

    flow.page.get_by_role("button", name="Continue to Grant Access").click()
    expect(page.get_by_text("Confirm that your Amazon seller account is on the Professional plan.")
           ).to_be_visible()
    flow.acknowledge()
    expect(flow.checklist.locator(".check-done")).to_have_count(3)
    flow.screenshot(AREA, "2-grant-access")

    popup = flow.grant_in_popup()
    expect(page.get_by_text("Waiting for you to authorize in the Amazon window…")).to_be_visible()
    flow.screenshot(AREA, "2b-grant-access-waiting")
    AmazonConsent(popup).authorize("Acme Outdoor Co")
    popup.wait_for_event("close")

    page.wait_for_url(re.compile(r"/settings/integrations/amazon/verify$"))
    expect(page.get_by_text(VERIFIED)).to_be_visible()
    expect(page.locator("#verify-result")).to_contain_text("Acme Outdoor Co")
    expect(page.get_by_text("A1PROSELLERUS01").first).to_be_visible()
    expect(flow.checklist.locator(".check-done")).to_have_count(5)
    flow.screenshot(AREA, "3-verify")

    page.goto(live_server.url + "/settings/integrations/amazon/")
    expect(page.get_by_text("Acme Outdoor Co")).to_be_visible()
    expect(page.get_by_text(re.compile(r"36[45] days left"))).to_be_visible()
    flow.screenshot(AREA, "4-integration-page")


def test_blocked_popups_are_explained_and_the_same_tab_fallback_connects(
        page: Page, live_server: Any, merchant: Merchant) -> None:
    page.add_init_script("window.open = () => null")
    flow = flow_for(page, live_server, merchant, role="manager")
    flow.open()
    flow.check_popups()
    expect(page.get_by_text("Pop-ups are blocked in this browser.")).to_be_visible()
    tip = "Check your browser's pop-up blocker. Allow pop-ups for the Ecommerce site and try again."
    expect(page.get_by_text(tip).first).to_be_visible()
    flow.screenshot(AREA, "1b-prerequisites-popups-blocked")
    flow.acknowledge()

    flow.grant_access.click()
    blocked = page.locator("[data-popup-blocked]")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("The authorization window does not open")
    expect(blocked).to_be_focused()
    flow.screenshot(AREA, "2c-grant-access-popup-blocked")
    flow.continue_in_this_tab()
    AmazonConsent(page).authorize("Acme Outdoor Co")
    page.wait_for_url(re.compile(r"/settings/integrations/amazon/verify$"))
    expect(page.get_by_text(VERIFIED)).to_be_visible()


def test_cancel_on_amazons_page_is_a_tip_not_a_crash(page: Page, live_server: Any, merchant: Merchant,
                                                      db: Session) -> None:
    acknowledge(db, merchant.account)
    flow = flow_for(page, live_server, merchant)
    flow.open()
    popup = flow.grant_in_popup()
    AmazonConsent(popup).cancel()
    expect(popup.get_by_role("heading", name="You cancelled on Amazon")).to_be_visible()
    flow.screenshot(AREA, "2d-callback-cancelled", page=popup)
    # The callback's own words reach the main window, which stops waiting.
    problem = page.locator("[data-grant-problem]")
    expect(problem).to_contain_text("You cancelled on Amazon")
    expect(page.locator("[data-waiting]")).to_be_hidden()
    with popup.expect_event("close"):
        # Click from a task queued in the page: a plain click() races the window closing under it.
        popup.get_by_role("button", name="Close this window").evaluate(
            "button => setTimeout(() => button.click(), 0)")
    expect(problem).to_contain_text("You cancelled on Amazon")
    assert db.exec(select(Connection).where(Connection.refresh_token_encrypted.is_not(None))).first() is None  # type: ignore[union-attr]


def test_a_replayed_or_forged_state_is_refused_with_what_to_do(
        page: Page, live_server: Any, merchant: Merchant, db: Session) -> None:
    acknowledge(db, merchant.account)
    flow = flow_for(page, live_server, merchant)
    flow.open()
    page.add_init_script("window.open = () => null")
    page.reload()
    flow.grant_access.click()
    flow.continue_in_this_tab()
    with page.expect_request(re.compile(r"/amazon/oauth/callback\?")) as callback:
        AmazonConsent(page).authorize()
    page.wait_for_url(re.compile(r"/verify$"))
    replayed = callback.value.url

    page.goto(replayed)
    expect(flow.heading).to_have_text("This authorization was already used")
    flow.screenshot(AREA, "2e-callback-reused-state")
    page.goto(re.sub(r"state=[^&]+", "state=forged-by-someone", replayed))
    expect(flow.heading).to_have_text("This link did not come from Ecommerce")
    expect(page.get_by_role("link", name="Back to Grant Access")).to_be_visible()


def test_reauthorizing_from_the_banner_keeps_every_setting(page: Page, live_server: Any, merchant: Merchant,
                                                           db: Session, sandbox: SandboxControl) -> None:
    from wizard.crypto import TokenCipher
    from wizard.models.catalog import AmazonSettings

    cipher = TokenCipher(live_server.app.config["TOKEN_ENCRYPTION_KEYS"])
    acknowledge(db, merchant.account)
    saved_at = utcnow()
    db.add(Connection(account_id=merchant.account.id or 0, selling_partner_id="A1PROSELLERUS01",
                      refresh_token_encrypted=cipher.encrypt(sandbox.grant("A1PROSELLERUS01")),
                      authorized_at=utcnow(), status=ConnectionStatus.NEEDS_REAUTHORIZATION,
                      store_name="Acme Outdoor Co", selling_plan="PROFESSIONAL", us_participating=True,
                      verified_at=utcnow()))
    db.add(AmazonSettings(account_id=merchant.account.id or 0, inventory_buffer=6, inventory_ceiling=4,
                          min_price_cents=1500, disable_pricing=True, saved_at=saved_at))
    db.commit()

    flow = flow_for(page, live_server, merchant)
    expect(flow.banner).to_contain_text("Amazon needs you to re-authorize Ecommerce")
    expect(flow.banner).to_contain_text(
        'Click "Re-authorize", then "Grant Access" on the page it opens. Your settings will be preserved.')
    flow.screenshot(AREA, "5-banner-needs-reauthorization")
    flow.banner.get_by_role("button", name="Re-authorize").click()
    expect(flow.heading).to_have_text("Re-authorize Ecommerce on Amazon")
    flow.screenshot(AREA, "5b-reauthorize")
    popup = flow.grant_in_popup()
    AmazonConsent(popup).authorize("Acme Outdoor Co")
    page.wait_for_url(re.compile(r"/verify$"))
    expect(page.get_by_text(VERIFIED)).to_be_visible()
    expect(flow.banner).to_have_count(0)

    db.expire_all()
    settings = db.get(AmazonSettings, merchant.account.id)
    assert settings is not None
    assert (settings.inventory_buffer, settings.inventory_ceiling, settings.min_price_cents,
            settings.disable_pricing, settings.saved_at) == (6, 4, 1500, True, saved_at)
    connection = db.exec(select(Connection)).one()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.selling_partner_id == "A1PROSELLERUS01"


def test_seller_central_login_uri_a_different_seller_and_disconnect(
        page: Page, live_server: Any, merchant: Merchant, db: Session, sandbox: SandboxControl) -> None:
    from wizard.crypto import TokenCipher

    cipher = TokenCipher(live_server.app.config["TOKEN_ENCRYPTION_KEYS"])
    acknowledge(db, merchant.account)
    db.add(Connection(account_id=merchant.account.id or 0, selling_partner_id="A1PROSELLERUS01",
                      refresh_token_encrypted=cipher.encrypt(sandbox.grant("A1PROSELLERUS01")),
                      authorized_at=utcnow(), status=ConnectionStatus.CONNECTED, store_name="Acme Outdoor Co",
                      selling_plan="PROFESSIONAL", us_participating=True, verified_at=utcnow()))
    db.commit()
    flow = flow_for(page, live_server, merchant, role="manager")

    page.goto(sandbox.url + "/apps/manage")
    page.get_by_role("button", name="Authorize from Seller Central for Second Street Goods").click()
    expect(flow.heading).to_contain_text("Authorize Ecommerce for seller A2PROSELLERUS02?")
    expect(page.get_by_text("is connected to a different seller")).to_be_visible()
    flow.screenshot(AREA, "6-login-uri")
    page.get_by_role("button", name="Continue").click()

    expect(flow.heading).to_have_text("Replace the connected Amazon account?")
    expect(page.get_by_text("You connected the wrong Amazon account")).to_be_visible()
    flow.screenshot(AREA, "6b-confirm-different-seller")
    page.get_by_role("button", name="Keep A1PROSELLERUS01").click()
    expect(flow.heading).to_have_text("Amazon")
    expect(page.locator(".seller-id").first).to_have_text("A1PROSELLERUS01")

    page.get_by_role("link", name="Disconnect").click()
    expect(flow.heading).to_have_text("Disconnect Amazon?")
    flow.screenshot(AREA, "7-disconnect")
    page.get_by_role("button", name="Disconnect").click()
    expect(flow.heading).to_have_text("Amazon is disconnected")
    expect(page.get_by_text("Apps & Services > Manage Your Apps")).to_be_visible()
    flow.screenshot(AREA, "7b-disconnected")
    connection = db.exec(select(Connection)).one()
    db.refresh(connection)
    assert connection.refresh_token_encrypted is None and connection.pending_refresh_token_encrypted is None
