"""Settings > Amazon through the Flask client: validation, roles, saving, preview, history, wizard step 4."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from flask import g
from flask.testing import FlaskClient
from redis import Redis
from sqlmodel import Session, select

from tests.conftest import Merchant
from tests.helpers import csrf_token
from wizard.crypto import TokenCipher
from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus, Product, SettingsVersion
from wizard.models.base import utcnow

URL = "/settings/amazon/"
PREVIEW = "/settings/amazon/preview"
HTMX = {"HX-Request": "true"}
DEFAULTS = {"inventory_buffer": "0", "inventory_ceiling": "", "min_price": "0.00"}


def connect(db: Session, account: Account, keys: str) -> Connection:
    """Arrange: the wizard's steps 1 to 3 are done (prerequisites, Grant Access, verified seller)."""
    row = db.get(Account, account.id)
    assert row is not None and row.id is not None
    row.prerequisites_acknowledged_at = utcnow()
    connection = Connection(
        account_id=row.id,
        status=ConnectionStatus.CONNECTED,
        selling_partner_id="A1PROSELLERUS01",
        refresh_token_encrypted=TokenCipher(keys).encrypt("Atzr|x"),
        authorized_at=utcnow(),
        verified_at=utcnow(),
        selling_plan="PROFESSIONAL",
        us_participating=True,
        store_name="Acme Outdoor Co",
    )
    db.add(row)
    db.add(connection)
    db.commit()
    return connection


def add_products(db: Session, account_id: int, products: list[tuple[str, int, int]]) -> None:
    """Arrange: catalog rows (sku, available, price_cents)."""
    db.add_all(
        Product(
            account_id=account_id, sku=sku, title=f"Product {sku}", available=available, price_cents=price
        )
        for sku, available, price in products
    )
    db.commit()


def text_of(html: str) -> str:
    """Return the page's visible text with whitespace collapsed (tags dropped)."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def post(client: FlaskClient, path: str, data: dict[str, str], headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, URL)
    return client.post(path, data={**data, "csrf_token": token}, headers=headers or {})


@pytest.fixture
def connected(app, db: Session, merchant: Merchant) -> Connection:  # type: ignore[no-untyped-def]
    return connect(db, merchant.account, app.config["TOKEN_ENCRYPTION_KEYS"])


def saved_settings(db: Session, account_id: int) -> AmazonSettings | None:
    db.expire_all()
    return db.get(AmazonSettings, account_id)


def test_the_page_shows_the_guides_two_sections_and_the_gate_example(client, signed_in_as, connected) -> None:
    signed_in_as("admin")
    html = client.get(URL).get_data(as_text=True)
    text = text_of(html)
    assert "<html" in html
    for words in (
        "Inventory Settings",
        "Marketplace Inventory Buffer",
        "Inventory Ceiling",
        "Pricing Settings",
        "Minimum Price Threshold (USD)",
        "Disable Pricing",
    ):
        assert words in text
    assert "The buffer is a gate, not a subtraction." in text
    assert "6 available advertises 4" in text and "5 available advertises 0" in text
    assert 'aria-live="polite"' in html and 'id="impact-preview"' in html


def test_an_htmx_request_gets_the_fragment_and_a_plain_get_the_full_page(
    client, signed_in_as, connected
) -> None:
    signed_in_as("manager")
    fragment = client.get(URL, headers=HTMX)
    page = client.get(URL)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "Marketplace Inventory Buffer" in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_saving_stores_the_settings_records_a_version_and_schedules_a_sync(
    client, signed_in_as, connected, merchant, db, redis_url
) -> None:
    user = signed_in_as("manager")
    add_products(db, merchant.account.id, [("A", 5, 1999), ("B", 6, 1999), ("C", 40, 499)])
    response = post(client, URL, {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5.00"})
    assert response.status_code == 302
    settings = saved_settings(db, merchant.account.id)
    assert settings is not None and settings.saved_at is not None and settings.saved_by_user_id == user.id
    assert (
        settings.inventory_buffer,
        settings.inventory_ceiling,
        settings.min_price_cents,
        settings.disable_pricing,
    ) == (6, 4, 500, False)
    version = db.exec(select(SettingsVersion)).one()
    assert version.user_id == user.id and version.before is None
    assert json.loads(version.after) == {
        "inventory_buffer": 6,
        "inventory_ceiling": 4,
        "min_price_cents": 500,
        "disable_pricing": False,
    }
    summary = json.loads(version.preview_summary)
    assert (summary["total"], summary["in_stock_after"], summary["below_threshold_after"]) == (3, 1, 1)
    page = text_of(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Settings saved." in page and "Most changes appear within 15 to 30 minutes" in page
    assert Redis.from_url(redis_url).exists(f"sync:soon:{merchant.account.id}")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"inventory_buffer": ""},
            "inventory_buffer",
            "Enter the buffer as a whole number of units, 0 or more.",
        ),
        (
            {"inventory_buffer": "2.5"},
            "inventory_buffer",
            "Enter the buffer as a whole number of units, like 6",
        ),
        (
            {"inventory_buffer": "-3"},
            "inventory_buffer",
            "The buffer can't be negative. Use 0 for no buffer.",
        ),
        ({"inventory_ceiling": "four"}, "inventory_ceiling", "Enter the ceiling as a whole number of units"),
        (
            {"inventory_ceiling": "-1"},
            "inventory_ceiling",
            "The ceiling can't be negative. Leave it empty for no ceiling.",
        ),
        ({"min_price": "4.999"}, "min_price", "Use at most 2 decimal places (whole cents), like 4.99."),
        (
            {"min_price": "-1"},
            "min_price",
            "The threshold can't be negative. Use 0.00 to send every product.",
        ),
        ({"min_price": "five"}, "min_price", "Enter an amount in US dollars, like 19.99"),
        ({"min_price": ""}, "min_price", "Enter the threshold in US dollars, like 5.00"),
    ],
)
def test_a_bad_value_gets_its_message_on_submit_without_javascript_and_nothing_is_saved(
    client, signed_in_as, connected, merchant, db, data, field, message
) -> None:
    signed_in_as("admin")
    response = post(client, URL, {**DEFAULTS, **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="error" id="{field}-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and message in unescape(error.group(1))
    assert f'id="{field}-field"' in html and "field-invalid" in html
    assert saved_settings(db, merchant.account.id) is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"inventory_buffer": "abc"}, "inventory_buffer", "Enter the buffer as a whole number of units"),
        ({"min_price": "1,299.00"}, "min_price", "Use a dot for cents and no thousands separators"),
    ],
)
def test_the_preview_shows_a_bad_value_inline_as_the_merchant_types(
    client, signed_in_as, connected, data, field, message
) -> None:
    signed_in_as("admin")
    response = post(client, PREVIEW, {**DEFAULTS, **data}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    error = re.search(rf'<p class="error" id="{field}-error"[^>]*hx-swap-oob="true">(.*?)</p>', html, re.S)
    assert error and message in unescape(error.group(1))
    assert "Fix the highlighted fields to see what the settings would do." in text_of(html)


def test_the_preview_checks_the_csrf_header_and_signs_no_new_token_per_keystroke(
    client, signed_in_as, connected
) -> None:
    signed_in_as("admin")
    token = csrf_token(client, URL)
    typed = {**DEFAULTS, "inventory_buffer": "6"}
    assert client.post(PREVIEW, data=typed, headers=HTMX).status_code == 400
    with client:  # keeps the request's context, so its ``g`` can be read afterwards
        response = client.post(PREVIEW, data=typed, headers={**HTMX, "X-CSRFToken": token})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "6 available → Amazon shows 6" in text_of(html)
        # The fragment shows no token: the form's own token field would sign a new one per keystroke.
        assert "csrf_token" not in g


def test_the_preview_counts_a_known_catalog_and_warns_when_many_listings_go_to_zero(
    client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("admin")
    add_products(
        db,
        merchant.account.id,
        [
            ("GONE-1", 5, 1999),
            ("GONE-2", 3, 2500),
            ("KEPT-1", 10, 1999),
            ("KEPT-2", 50, 1999),
            ("CHEAP-1", 80, 299),
            ("ZERO-1", 0, 1999),
        ],
    )
    html = post(
        client, PREVIEW, {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5"}, headers=HTMX
    ).get_data(as_text=True)
    text = text_of(html)
    # Now (defaults): 5 in stock. After: KEPT-1 and KEPT-2 only, capped at 4 each.
    assert re.search(r"Ecommerce will send as in stock 5 → would become 2 of 6", text)
    assert re.search(r"Units advertised 148 → would become 8", text)
    assert "Go out of stock 3" in text and "Capped by the ceiling 2" in text
    assert "Gated by the buffer 2" in text and "Kept off by the price threshold 1" in text
    assert "3 in-stock listings (60%) would go out of stock on Amazon" in text
    assert "GONE-1" in text and "5 available, below the buffer of 6 → 0" in text
    # GONE-1 goes out of stock and is gated by the buffer: shown once, under the first of its lines.
    assert html.count("<code>GONE-1</code>") == 1
    assert html.index('"example-title">Would go out of stock</p>') < html.index("<code>GONE-1</code>")
    # Nothing was ever sent: what the saved settings send is ours, never labelled as Amazon's (issue 9 §2).
    assert "(your saved settings send 5)" in text and not re.search(r"Amazon shows \d+ now", text)
    assert "CHEAP-1" in text and "Prices will be sent for 5 products" in text


def test_the_preview_says_prices_will_not_be_sent_with_pricing_disabled(
    client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("admin")
    add_products(db, merchant.account.id, [("A", 9, 1999), ("B", 9, 299)])
    html = post(
        client, PREVIEW, {**DEFAULTS, "min_price": "5.00", "disable_pricing": "y"}, headers=HTMX
    ).get_data(as_text=True)
    text = text_of(html)
    assert "Prices will not be sent (Disable Pricing is on)" in text
    assert "Kept off by the price threshold 1" in text


@pytest.mark.parametrize(
    ("buffer", "ceiling", "note"),
    [
        ("6", "0", "A ceiling of 0 advertises nothing: every product shows out of stock on Amazon."),
        (
            "10",
            "2",
            "A product needs at least 10 units to be listed, and at most 2 are shown: a 8-unit safety margin",
        ),
    ],
)
def test_a_ceiling_of_zero_or_below_the_buffer_is_allowed_but_explained(
    client, signed_in_as, connected, merchant, db, buffer, ceiling, note
) -> None:
    signed_in_as("admin")
    preview = post(
        client, PREVIEW, {**DEFAULTS, "inventory_buffer": buffer, "inventory_ceiling": ceiling}, headers=HTMX
    ).get_data(as_text=True)
    assert re.search(r'id="ceiling-note"[^>]*hx-swap-oob="true"', preview)
    assert note in text_of(preview)
    response = post(client, URL, {**DEFAULTS, "inventory_buffer": buffer, "inventory_ceiling": ceiling})
    assert response.status_code == 302
    settings = saved_settings(db, merchant.account.id)
    assert settings is not None and settings.inventory_ceiling == int(ceiling)
    assert note in text_of(client.get(URL).get_data(as_text=True))


def test_staff_see_the_settings_read_only_and_cannot_change_them(
    client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("staff")
    html = client.get(URL).get_data(as_text=True)
    assert "View only" in text_of(html)
    assert re.search(
        r'<input[^>]*disabled[^>]*id="inventory_buffer"|<input[^>]*id="inventory_buffer"[^>]*disabled', html
    )
    assert "Save settings" not in html and "Save and finish setup" not in html
    token = csrf_token(client, URL)
    for path in (URL, PREVIEW, "/settings/amazon/history/1/restore"):
        response = client.post(path, data={**DEFAULTS, "inventory_buffer": "9", "csrf_token": token})
        assert response.status_code == 403, path
    assert saved_settings(db, merchant.account.id) is None


def test_a_signed_out_visitor_is_sent_to_sign_in(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_saving_the_same_values_again_records_nothing(client, signed_in_as, connected, db) -> None:
    signed_in_as("admin")
    form = {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5.00"}
    post(client, URL, form)
    response = post(client, URL, form)
    assert response.status_code == 302
    assert len(db.exec(select(SettingsVersion)).all()) == 1
    assert "Nothing changed" in text_of(client.get(URL).get_data(as_text=True))


def test_history_lists_each_save_and_restore_brings_back_an_old_version(
    client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("admin")
    post(client, URL, {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5.00"})
    signed_in_as("manager")
    post(
        client,
        URL,
        {"inventory_buffer": "12", "inventory_ceiling": "", "min_price": "5.00", "disable_pricing": "y"},
    )
    text = text_of(client.get(URL).get_data(as_text=True))
    assert "by Admin User" in text and "by Manager User" in text
    assert "Buffer: 6 units → 12 units" in text and "Ceiling: 4 units → no ceiling" in text
    assert "Disable Pricing: off → on" in text
    first = db.exec(select(SettingsVersion).order_by(SettingsVersion.id)).first()
    assert first is not None
    response = post(client, f"/settings/amazon/history/{first.id}/restore", {"confirm": "1"})
    assert response.status_code == 302
    settings = saved_settings(db, merchant.account.id)
    assert settings is not None
    assert (settings.inventory_buffer, settings.inventory_ceiling, settings.disable_pricing) == (6, 4, False)
    versions = db.exec(select(SettingsVersion).order_by(SettingsVersion.id)).all()
    assert len(versions) == 3 and versions[-1].restored_from_id == first.id
    page = text_of(client.get(URL).get_data(as_text=True))
    assert "Restored the settings saved on" in page and "Restored" in page


def test_restore_shows_its_impact_and_changes_nothing_until_confirmed(
    client, signed_in_as, connected, merchant, db
) -> None:
    add_products(db, merchant.account.id, [(f"LOW-{i}", 5, 1999) for i in range(4)]
                 + [(f"HIGH-{i}", 30, 1999) for i in range(6)])
    signed_in_as("admin")
    post(client, URL, {"inventory_buffer": "0", "inventory_ceiling": "", "min_price": "0.00"})
    post(client, URL, {"inventory_buffer": "10", "inventory_ceiling": "", "min_price": "0.00"})
    first = db.exec(select(SettingsVersion).order_by(SettingsVersion.id)).first()
    assert first is not None
    history = client.get(URL).get_data(as_text=True)
    confirm_url = f"/settings/amazon/history/{first.id}/restore"
    assert f'href="{confirm_url}"' in history

    page = text_of(client.get(confirm_url).get_data(as_text=True))
    unconfirmed = post(client, confirm_url, {})

    assert "Restore the settings saved on" in page and "Buffer: 10 units → 0 units" in page
    # The same numbers as the settings preview: 6 of 10 in stock now, all 10 after the restore, 4 come back.
    assert "Ecommerce will send as in stock 6 → would become 10 of 10" in page
    assert "Come back in stock 4" in page
    assert "Restore these settings" in page and "Cancel" in page
    assert unconfirmed.status_code == 302 and unconfirmed.headers["Location"].endswith(confirm_url)
    settings = saved_settings(db, merchant.account.id)
    assert settings is not None and settings.inventory_buffer == 10
    assert len(db.exec(select(SettingsVersion)).all()) == 2


def test_restoring_another_accounts_version_is_not_found(client, signed_in_as, connected, db) -> None:
    from tests.conftest import make_merchant

    other = make_merchant(db, name="Other", domain="other.example")
    version = SettingsVersion(account_id=other.account.id, after=json.dumps({"inventory_buffer": 99}))
    db.add(version)
    db.commit()
    signed_in_as("admin")
    assert post(client, f"/settings/amazon/history/{version.id}/restore", {"confirm": "1"}).status_code == 404
    assert client.get(f"/settings/amazon/history/{version.id}/restore").status_code == 404


def test_the_first_save_in_the_wizard_shows_setup_complete_with_the_checklist_complete(
    client, signed_in_as, connected
) -> None:
    signed_in_as("admin")
    before = client.get(URL).get_data(as_text=True)
    assert 'aria-label="Setup steps"' in before and "Save and finish setup" in before
    response = post(client, URL, DEFAULTS)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    text = text_of(html)
    assert "Setup complete" in text
    assert "not done yet" not in text
    assert text.count("— done") >= 6
    assert 'aria-label="Setup steps"' not in html


def test_a_merchant_who_has_not_connected_amazon_is_sent_to_the_wizard(client, signed_in_as) -> None:
    signed_in_as("admin")
    response = client.get(URL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/settings/integrations/amazon")


def test_settings_survive_the_connection_being_deleted_and_recreated(
    app, client, signed_in_as, connected, merchant, db
) -> None:
    signed_in_as("admin")
    post(
        client,
        URL,
        {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5.00", "disable_pricing": "y"},
    )
    db.delete(db.get(Connection, connected.id))
    db.commit()
    connect(db, merchant.account, app.config["TOKEN_ENCRYPTION_KEYS"])
    settings = saved_settings(db, merchant.account.id)
    assert settings is not None
    assert (
        settings.inventory_buffer,
        settings.inventory_ceiling,
        settings.min_price_cents,
        settings.disable_pricing,
    ) == (6, 4, 500, True)
    html = client.get(URL).get_data(as_text=True)
    assert 'value="6"' in html and 'value="4"' in html and 'value="5.00"' in html


def test_settings_saved_here_survive_disconnect_and_a_new_grant_access_through_the_connect_pages(
    client, merchant, db
) -> None:
    from tests.conftest import sign_in
    from tests.integration.connect_support import PREFIX, AmazonSide, acknowledge, authorize

    acknowledge(db, merchant.account)
    sign_in(client, merchant.user("admin"))
    amazon = AmazonSide()
    authorize(client, amazon)
    verify = PREFIX + "/verify"
    client.post(verify, data={"csrf_token": csrf_token(client, verify)}, headers=HTMX)
    form = {"inventory_buffer": "6", "inventory_ceiling": "4", "min_price": "5.00", "disable_pricing": "y"}
    assert post(client, URL, form).status_code == 302
    disconnect = PREFIX + "/disconnect"
    assert client.post(disconnect, data={"csrf_token": csrf_token(client, disconnect)}).status_code == 302
    step_1 = PREFIX + "/prerequisites"  # a disconnect starts over from Step 1, as the guide says
    client.post(step_1, data={"csrf_token": csrf_token(client, step_1), "professional_plan": "y",
                              "us_marketplace": "y"})
    authorize(client, amazon)
    client.post(verify, data={"csrf_token": csrf_token(client, verify)}, headers=HTMX)
    settings = saved_settings(db, merchant.account.id)
    connection = db.exec(select(Connection).where(Connection.account_id == merchant.account.id)).one()
    assert connection.status == ConnectionStatus.CONNECTED and connection.verified_at is not None
    assert settings is not None
    assert (
        settings.inventory_buffer,
        settings.inventory_ceiling,
        settings.min_price_cents,
        settings.disable_pricing,
    ) == (6, 4, 500, True)
    html = client.get(URL).get_data(as_text=True)
    assert 'value="6"' in html and 'value="5.00"' in html and "Setup complete" not in html
