"""The wrong-account path and the guide's words, through the Flask client against the sandbox."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import Merchant, sign_in
from tests.helpers import csrf_token
from tests.integration.connect_support import (
    INDIVIDUAL_SELLER,
    OTHER_PRO_SELLER,
    PREFIX,
    PRO_SELLER,
    VERIFY,
    AmazonSide,
    authorize,
)
from tests.integration.test_amazon_settings import text_of
from wizard.models import Account, Connection, ConnectionStatus, User

DIFFERENT = PREFIX + "/disconnect?different=1"


def _verify(client: FlaskClient) -> str:
    client.post(VERIFY, data={"csrf_token": csrf_token(client, VERIFY)})
    return client.get(VERIFY).get_data(as_text=True)


def test_an_individual_plan_seller_is_offered_a_different_account_which_starts_over_at_step_1(
        client: FlaskClient, admin: User, merchant: Merchant, db: Session) -> None:
    authorize(client, AmazonSide(), seller=INDIVIDUAL_SELLER)
    verify_page = _verify(client)
    assert "Individual selling plan" in verify_page
    assert 'href="/settings/integrations/amazon/disconnect?different=1"' in verify_page

    prompt = text_of(client.get(DIFFERENT).get_data(as_text=True))
    response = client.post(PREFIX + "/disconnect",
                           data={"csrf_token": csrf_token(client, DIFFERENT), "different": "1"})

    assert "Use a different Amazon account?" in prompt and "Disconnect and start over" in prompt
    assert response.headers["Location"].endswith(PREFIX + "/prerequisites")
    db.expire_all()
    connection = db.exec(select(Connection).where(Connection.account_id == merchant.account.id)).one()
    assert connection.refresh_token_encrypted is None and connection.selling_partner_id is None
    account = db.get(Account, merchant.account.id)
    assert account is not None and account.prerequisites_acknowledged_at is None
    step_1 = client.get(PREFIX + "/prerequisites").get_data(as_text=True)
    assert "Start over from Step 1" in step_1
    assert "(done)" not in step_1.split('aria-label="Setup steps"', 1)[1].split("</nav>", 1)[0]


def test_disconnect_warns_that_amazon_keeps_the_last_quantities(
        client: FlaskClient, admin: User, merchant: Merchant, db: Session) -> None:
    authorize(client, AmazonSide(), seller=PRO_SELLER)

    page = text_of(client.get(PREFIX + "/disconnect").get_data(as_text=True))

    assert "Amazon keeps the last quantities Ecommerce sent" in page


def test_the_replace_prompt_shows_no_contradictory_reauthorization_banner(
        client: FlaskClient, admin: User, merchant: Merchant, db: Session) -> None:
    amazon = AmazonSide()
    authorize(client, amazon, seller=PRO_SELLER)
    _verify(client)
    authorize(client, amazon, seller=OTHER_PRO_SELLER)
    connection = db.exec(select(Connection).where(Connection.account_id == merchant.account.id)).one()
    connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    db.add(connection)
    db.commit()
    assert "Amazon needs you to re-authorize" in client.get("/").get_data(as_text=True)

    page = client.get(PREFIX + "/confirm-seller").get_data(as_text=True)

    assert "Replace the connected Amazon account?" in page
    assert "Amazon needs you to re-authorize" not in page and 'class="banner' not in page
    # Both sellers named by store and marketplace, as Amazon reports them.
    text = text_of(page)
    assert f"{PRO_SELLER} · Acme Outdoor Co · Amazon.com (US)" in text
    assert f"{OTHER_PRO_SELLER} · Second Street Goods · Amazon.com (US)" in text


def test_reauthorizing_says_how_to_keep_the_seller_or_use_a_different_one(
        client: FlaskClient, admin: User, merchant: Merchant, db: Session) -> None:
    authorize(client, AmazonSide(), seller=PRO_SELLER)
    _verify(client)

    page = client.get(PREFIX + "/grant-access").get_data(as_text=True)

    assert "To keep this connection, sign in to Amazon as this same seller." in text_of(page)
    assert 'href="/settings/integrations/amazon/disconnect?different=1"' in page
    # A connection is shown: the "does not show a connection" tip would contradict it.
    assert "You authorized but Ecommerce does not show a connection" not in page


def test_the_verify_page_does_not_put_the_no_connection_tip_next_to_a_seller_id(
        client: FlaskClient, admin: User, merchant: Merchant, db: Session) -> None:
    authorize(client, AmazonSide(), seller=PRO_SELLER)

    page = _verify(client)

    assert PRO_SELLER in page
    assert "You authorized but Ecommerce does not show a connection" not in page


def test_the_guides_words_where_the_product_does_more(client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))

    page = text_of(client.get(PREFIX + "/prerequisites").get_data(as_text=True))

    assert "This is a one-time setup step, then a yearly renewal" in page
    assert "Ecommerce reminds you 30 days before" in page
    assert "fail silently" not in page
    assert "If your browser blocks the pop-up, Ecommerce tells you and offers to continue in this tab" in page
