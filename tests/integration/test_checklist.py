"""The guide's setup checklist: every tick derived from facts, for the user who reads it."""

from __future__ import annotations

import re
from html import unescape

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import Merchant, sign_in
from tests.helpers import csrf_token
from tests.integration.connect_support import (
    INDIVIDUAL_SELLER,
    PREFIX,
    VERIFY,
    AmazonSide,
    acknowledge,
    authorize,
)

PROFESSIONAL = "Confirmed you have an active Amazon Professional Seller account."
ACCESS = "Confirmed you have admin or manager access in Ecommerce."
NAVIGATED = "Navigated to Settings > Integrations Settings > Amazon."


def ticks(html: str) -> dict[str, bool]:
    """Return each checklist line of the page with whether it is ticked."""
    section = html.split('id="setup-checklist"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<li class="is-(done|todo)">(.*?)</li>', section, flags=re.S)
    return {unescape(re.sub(r"<[^>]+>", " ", body)).split(" — ")[0].replace("✓", "").replace("–", "").strip():
            state == "done" for state, body in rows}


def test_a_manager_on_the_integration_page_sees_access_and_navigation_ticked_before_confirming(
        client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("manager"))

    rows = ticks(client.get(PREFIX + "/prerequisites").get_data(as_text=True))

    assert rows[ACCESS] and rows[NAVIGATED]
    assert not rows[PROFESSIONAL]


def test_staff_do_not_see_admin_or_manager_access_ticked(
        client: FlaskClient, merchant: Merchant, db: Session) -> None:
    acknowledge(db, merchant.account)
    sign_in(client, merchant.user("staff"))

    html = client.get(PREFIX + "/prerequisites").get_data(as_text=True)

    assert ticks(html)[ACCESS] is False
    assert "You have staff access" in html


def test_the_professional_line_is_not_ticked_once_amazon_reports_an_individual_plan(
        client: FlaskClient, merchant: Merchant, db: Session) -> None:
    acknowledge(db, merchant.account)
    sign_in(client, merchant.user("admin"))
    authorize(client, AmazonSide(), seller=INDIVIDUAL_SELLER)
    client.post(VERIFY, data={"csrf_token": csrf_token(client, VERIFY)})

    html = client.get(VERIFY).get_data(as_text=True)

    assert "Individual selling plan" in html
    assert ticks(html)[PROFESSIONAL] is False
    assert "Amazon reports your plan as Individual" in html
