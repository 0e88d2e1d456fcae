"""The Ecommerce home page: the merchant's Amazon dashboard (setup, connection, sync, catalog)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from sqlmodel import Session
from werkzeug.wrappers import Response

from wizard.accounts.service import managers_of
from wizard.connect.service import ConnectionView
from wizard.connect.steps import Step, StepName, connection_of, facts_for, wizard_steps
from wizard.db import get_session, reads_only
from wizard.models import Account, AmazonSettings
from wizard.pagecache import cached_page
from wizard.reconcile import status as reconcile_status
from wizard.rendering import render_page
from wizard.rules import Rules
from wizard.security import can_manage, current_account, signed_in
from wizard.settings.preview import products_in_stock
from wizard.sync import ledger

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class CatalogGlance:
    """The catalog card's figures: products, and how many Amazon shows in stock under the settings."""

    products: int
    in_stock: int
    settings_saved: bool


@dataclass(frozen=True)
class Setup:
    """The "Finish setting up Amazon" card: the stepper's steps and the one to do next."""

    steps: list[Step]
    next: Step
    done: int
    hint: str


def catalog_glance(session: Session, account_id: int, settings: AmazonSettings | None) -> CatalogGlance:
    """Count the account's products and those in stock on Amazon under its saved ``settings``."""
    # Read from the stored histograms: one sum each, without the preview's grouping.
    products, in_stock = products_in_stock(session, account_id, Rules.from_settings(settings))
    return CatalogGlance(products=products, in_stock=in_stock,
                         settings_saved=bool(settings and settings.saved_at))


#: What the next step asks of the merchant, under the "Finish setting up Amazon" button.
NEXT_STEP_HINTS: dict[StepName, str] = {
    StepName.PREREQUISITES: "Confirm you have an Amazon Professional seller account and admin or manager "
                            "access in Ecommerce.",
    StepName.GRANT_ACCESS: "Sign in to Amazon Seller Central and authorize Ecommerce to update your "
                           "listings.",
    StepName.VERIFY: "Check that Amazon reports your Seller ID, a Professional plan and the US marketplace.",
    StepName.SETTINGS: "Choose how many units to advertise and which prices to send, then save them.",
}


def _setup(account: Account) -> Setup | None:
    """Return the setup card's content, or None once every step is done."""
    steps = wizard_steps(facts_for(get_session(), account))  # progress derived from the database
    upcoming = next((step for step in steps if step.current), None)
    if upcoming is None:
        return None
    return Setup(steps=steps, next=upcoming, done=sum(step.done for step in steps),
                 hint=NEXT_STEP_HINTS[upcoming.name])


@bp.get("/")
@reads_only
@signed_in
@cached_page
def index() -> Response:
    """Show the home page."""
    account = current_account()
    assert account.id is not None
    session = get_session()
    connection = connection_of(session, account.id)
    # Held here, the row stays in the session's identity map: the setup card's facts read it without a query.
    settings = session.get(AmazonSettings, account.id)
    setup = _setup(account)
    return render_page("home/index", account=account, connection=connection,
                       view=ConnectionView.of(connection), setup=setup,
                       catalog=catalog_glance(session, account.id, settings),
                       amazon_counts=reconcile_status.counts(session, account.id),
                       price_drift=reconcile_status.price_drift(session, account.id),
                       sync_card=ledger.summary(session, account.id, connection=connection),
                       managers=managers_of(session, account.id) if setup and not can_manage() else [])
