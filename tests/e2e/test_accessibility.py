"""Every main page passes axe-core's accessibility rules and fits a 375 px phone, never scrolling sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from tests.conftest import PASSWORD, Merchant
from tests.e2e.pages.base import BasePage
from tests.fixtures.worker import Seller, add_products

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

#: (name, path) of the pages a set-up merchant uses.
SET_UP_PAGES = [
    ("home", "/"),
    ("integration", "/settings/integrations/amazon/"),
    ("settings", "/settings/amazon"),
    ("catalog", "/catalog/"),
    ("sync", "/sync/"),
]
#: The wizard's first steps, seen by a merchant who has not started.
WIZARD_PAGES = [
    ("prerequisites", "/settings/integrations/amazon/prerequisites"),
    ("sign-in", "/sign-in"),
]


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core in the page and return its violations."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
                     for v in violations)


@pytest.fixture
def phone_and_desktop(browser: Browser) -> Any:
    """Open a desktop and a 375 px page; CSP is bypassed only so the test can inject axe-core."""
    contexts = [browser.new_context(viewport=size, bypass_csp=True)
                for size in ({"width": 1280, "height": 900}, {"width": 375, "height": 800})]
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


def check_pages(pages: list[Page], base_url: str, email: str, paths: list[tuple[str, str]]) -> None:
    for page in pages:
        if email:
            BasePage(page, base_url).sign_in(email, PASSWORD)
            expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        width = page.viewport_size["width"] if page.viewport_size else 0
        for name, path in paths:
            page.goto(base_url + path)
            page.wait_for_load_state("networkidle")
            violations = axe_violations(page)  # every impact level, minor included
            assert violations == [], f"{name} at {width}px:\n{describe(violations)}"
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= width, f"{name} is {overflow}px wide on a {width}px screen"


def test_the_pages_of_a_set_up_merchant_are_accessible_and_fit_a_phone(
        phone_and_desktop: list[Page], live_server: Any, merchant: Merchant, seller: Seller,
        db: Session) -> None:
    add_products(db, seller.account_id, 120)

    check_pages(phone_and_desktop, live_server.url, merchant.user("admin").email, SET_UP_PAGES)


def test_the_first_wizard_steps_and_sign_in_are_accessible_and_fit_a_phone(
        phone_and_desktop: list[Page], live_server: Any, merchant: Merchant) -> None:
    check_pages(phone_and_desktop, live_server.url, "", [WIZARD_PAGES[1]])
    check_pages(phone_and_desktop, live_server.url, merchant.user("manager").email, [WIZARD_PAGES[0]])


def test_the_wrong_account_path_is_accessible_and_fits_a_phone(
        phone_and_desktop: list[Page], live_server: Any, merchant: Merchant, db: Session,
        sandbox: Any) -> None:
    from wizard.crypto import TokenCipher
    from wizard.models import Account, Connection, ConnectionStatus
    from wizard.models.base import utcnow

    account = db.get(Account, merchant.account.id)
    assert account is not None
    account.prerequisites_acknowledged_at = utcnow()
    db.add(Connection(account_id=merchant.account.id, status=ConnectionStatus.CONNECTED,
                      selling_partner_id="A3INDIVIDUAL001", authorized_at=utcnow(),
                      refresh_token_encrypted=TokenCipher(str(live_server.app.config["TOKEN_ENCRYPTION_KEYS"]))
                      .encrypt(sandbox.grant("A3INDIVIDUAL001"))))
    db.commit()
    paths = [("verify, Individual plan", "/settings/integrations/amazon/verify"),
             ("use a different account", "/settings/integrations/amazon/disconnect?different=1")]

    check_pages(phone_and_desktop, live_server.url, merchant.user("admin").email, paths)

    desktop = phone_and_desktop[0]
    for name, path in paths:
        desktop.goto(live_server.url + path)
        desktop.wait_for_load_state("networkidle")
        shot = name.replace(" ", "-").replace(",", "")
        BasePage(desktop, live_server.url).screenshot("wrong-account", shot)
    desktop.get_by_role("button", name="Disconnect and start over").click()
    expect(desktop.get_by_text("Start over from Step 1")).to_be_visible()
    BasePage(desktop, live_server.url).screenshot("wrong-account", "step-1-again")


def test_a_paused_sync_page_and_a_restore_confirmation_are_accessible_and_fit_a_phone(
        phone_and_desktop: list[Page], live_server: Any, merchant: Merchant, seller: Seller,
        db: Session) -> None:
    import json

    from sqlmodel import select

    from wizard.models import Connection, ConnectionStatus, SettingsVersion

    add_products(db, seller.account_id, 40)
    version = SettingsVersion(account_id=seller.account_id, after=json.dumps({"inventory_buffer": 12}))
    connection = db.exec(select(Connection).where(Connection.account_id == seller.account_id)).one()
    connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    db.add_all([version, connection])
    db.commit()
    paths = [("sync, paused", "/sync/"), ("restore", f"/settings/amazon/history/{version.id}/restore")]

    check_pages(phone_and_desktop, live_server.url, merchant.user("admin").email, paths)

    desktop = phone_and_desktop[0]
    for name, path in paths:
        desktop.goto(live_server.url + path)
        BasePage(desktop, live_server.url).screenshot("states", name.replace(" ", "-").replace(",", ""))
    # The paused Sync page's head: its Re-authorize button sits where "Sync now" does, at the heading's right,
    # with its help lined up under it (it was once pushed under the heading and indented by its help's width).
    desktop.goto(live_server.url + "/sync/")
    head = desktop.locator(".sync-head").bounding_box()
    heading = desktop.locator(".sync-head h1").bounding_box()
    button = desktop.locator(".sync-head .sync-now button").bounding_box()
    help_text = desktop.locator(".sync-head .sync-now .help").bounding_box()
    assert head and heading and button and help_text
    assert abs((button["x"] + button["width"]) - (head["x"] + head["width"])) <= 1
    assert abs((help_text["x"] + help_text["width"]) - (button["x"] + button["width"])) <= 1
    assert button["y"] < heading["y"] + heading["height"], "the button should sit beside the heading"
