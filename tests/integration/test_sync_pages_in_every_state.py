"""Every page a merchant opens reads the sync's rows, whatever state a batch is in (issue 8, R1).

A batch the worker planned but could not send yet (Amazon throttling ``createFeedDocument``) leaves its SKUs'
``listing_state`` rows written by the ledger's bulk insert. The home page, the catalog, the Sync page and the
settings page must all read them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import text
from sqlmodel import Session, select

from tests.fixtures.worker import Seller, add_products
from wizard.config import from_environment
from wizard.db import engine_for
from wizard.migrate import upgrade
from wizard.models.sync import BatchStatus, FeedBatch, ListingState, ListingStatus
from wizard.sync.runner import run_account

PAGES = ("/", "/catalog/", "/sync/", "/settings/amazon/")


def _plan_without_sending(seller: Seller, redis_url: str, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Run the real sync while Amazon throttles createFeedDocument: the batch is planned, never sent."""
    sandbox.fault("createFeedDocument", throttle=True)
    config = {**from_environment(), "AMAZON_RETRY_ATTEMPTS": 1}
    outcome = run_account(config, Redis.from_url(redis_url), seller.account_id, "manual")
    assert outcome.status == "amazon_busy"
    sandbox.fault("createFeedDocument", throttle=False)


@pytest.mark.parametrize("state", list(BatchStatus))
def test_every_page_reads_a_batch_in_each_state(
        state: BatchStatus, client: FlaskClient, signed_in_as, seller: Seller, db: Session,  # type: ignore[no-untyped-def]
        redis_url: str, sandbox) -> None:
    add_products(db, seller.account_id, 12)
    _plan_without_sending(seller, redis_url, sandbox)
    db.expire_all()
    batch = db.exec(select(FeedBatch)).one()
    assert batch.status == BatchStatus.PLANNED
    batch.status = state
    db.add(batch)
    db.commit()
    signed_in_as("admin")

    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, f"{page} with a {state.value} batch: {response.status_code}"
    assert "12 waiting" in client.get("/").get_data(as_text=True)


def test_a_planned_batch_stores_its_skus_as_pending_in_the_orms_representation(
        seller: Seller, db: Session, redis_url: str, sandbox) -> None:  # type: ignore[no-untyped-def]
    add_products(db, seller.account_id, 5)
    _plan_without_sending(seller, redis_url, sandbox)
    db.expire_all()

    states = db.exec(select(ListingState)).all()

    assert [state.status for state in states] == [ListingStatus.PENDING] * 5
    stored = db.exec(text("SELECT DISTINCT status FROM listing_state")).all()  # type: ignore[call-overload]
    assert [row[0] for row in stored] == ["PENDING"]


def test_the_migration_rewrites_lowercase_enum_values_to_names(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, revision="0010")
    with engine_for(url).begin() as connection:
        connection.execute(text("INSERT INTO account (id, name, created_at) VALUES (1, 'A', '2026-01-01')"))
        connection.execute(text("INSERT INTO listing_state (account_id, sku, status) VALUES "
                                "(1, 'A', 'pending'), (1, 'B', 'ACCEPTED'), (1, 'C', 'rejected')"))

    upgrade(url)

    with engine_for(url).connect() as connection:
        rows = connection.execute(text("SELECT sku, status FROM listing_state ORDER BY sku")).all()
    assert [tuple(row) for row in rows] == [("A", "PENDING"), ("B", "ACCEPTED"), ("C", "REJECTED")]
