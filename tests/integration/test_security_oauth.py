"""OAuth callback attacks: the Seller ID in the callback is a claim until Amazon confirms it (issue 8, M1)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import Merchant, make_merchant, sign_in
from tests.fixtures.sandbox import SandboxControl
from tests.integration.connect_support import (
    NON_US_SELLER,
    OTHER_PRO_SELLER,
    PRO_SELLER,
    AmazonSide,
    acknowledge,
    authorize,
    path_of,
    start_grant,
)
from wizard.models import Account, Connection


def _connection(db: Session, account: Account) -> Connection | None:
    db.expire_all()
    return db.exec(select(Connection).where(Connection.account_id == account.id)).first()


def _signed_in_admin(app: Flask, db: Session, merchant: Merchant) -> FlaskClient:
    acknowledge(db, merchant.account)
    browser = app.test_client()
    sign_in(browser, merchant.user("admin"))
    return browser


def _squat(browser: FlaskClient, victim: str) -> tuple[int, str]:
    """Authorize the attacker's own seller, then call the callback with the victim's Seller ID."""
    callback = AmazonSide().consent(start_grant(browser), seller=OTHER_PRO_SELLER)
    assert f"selling_partner_id={OTHER_PRO_SELLER}" in callback
    forged = path_of(callback).replace(f"selling_partner_id={OTHER_PRO_SELLER}",
                                       f"selling_partner_id={victim}")
    response = browser.get(forged)
    return response.status_code, response.get_data(as_text=True)


def test_a_merchant_cannot_connect_another_sellers_id_with_their_own_code(
        app: Flask, db: Session, merchant: Merchant, sandbox: SandboxControl) -> None:
    attacker = _signed_in_admin(app, db, merchant)
    status, page = _squat(attacker, PRO_SELLER)
    assert status == 403
    assert "Amazon did not confirm this Seller ID" in page and "nothing was connected" in page
    squatted = _connection(db, merchant.account)
    assert squatted is None or squatted.selling_partner_id is None

    owner = make_merchant(db, name="Rightful Owner", domain="owner.example")
    rightful = _signed_in_admin(app, db, owner)
    assert authorize(rightful, AmazonSide(), seller=PRO_SELLER).status_code == 302
    connected = _connection(db, owner.account)
    assert connected is not None and connected.selling_partner_id == PRO_SELLER


def test_a_claim_does_not_reveal_which_account_holds_a_seller(
        app: Flask, db: Session, merchant: Merchant, sandbox: SandboxControl) -> None:
    owner = make_merchant(db, name="Rightful Owner", domain="owner.example")
    assert authorize(_signed_in_admin(app, db, owner), AmazonSide(), seller=PRO_SELLER).status_code == 302
    status, page = _squat(_signed_in_admin(app, db, merchant), PRO_SELLER)
    assert status == 403 and "connected to another Ecommerce account" not in page
    held = _connection(db, owner.account)
    assert held is not None and held.selling_partner_id == PRO_SELLER


def test_a_seller_outside_the_us_marketplace_is_still_confirmed(
        app: Flask, db: Session, merchant: Merchant, sandbox: SandboxControl) -> None:
    browser = _signed_in_admin(app, db, merchant)
    assert authorize(browser, AmazonSide(), seller=NON_US_SELLER).status_code == 302
    connected = _connection(db, merchant.account)
    assert connected is not None and connected.selling_partner_id == NON_US_SELLER
    assert sandbox.stats()["calls"]["searchListingsItems"] == 1  # the claim was checked with Amazon
