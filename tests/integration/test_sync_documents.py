"""Feed documents between planning and upload (issue 12 §3): the upload sends the bytes the job planned, the
ledger rebuilds the same bytes, and a batch whose messages left the ledger is never sent."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import select
from sqlmodel import Session

from tests.fixtures.worker import SELLER, Seller, add_products
from wizard.amazon.client import SellerAuth
from wizard.config import from_environment
from wizard.db import table_of
from wizard.models.sync import FeedBatch, ListingState, RunStatus, SyncRun
from wizard.sync import ledger
from wizard.sync.plan import PlannedBatch, batch_messages, build_document, sha256
from wizard.sync.runner import Syncer

Plan = Callable[[int, int], tuple[Syncer, list[FeedBatch]]]


@pytest.fixture
def plan(db: Session, seller: Seller, redis_url: str) -> Iterator[Plan]:
    """Return a function that plans a first sync of N products in feeds of M messages, as a job would.

    It gives the syncer (its spool holds the planned documents until the test ends) and the batches.
    """
    syncers: list[Syncer] = []

    def _plan(products: int, max_messages: int) -> tuple[Syncer, list[FeedBatch]]:
        add_products(db, seller.account_id, products)
        config = {**from_environment(), "SYNC_FEED_MAX_MESSAGES": max_messages}
        syncer = Syncer(config, Redis.from_url(redis_url), seller.account_id)
        syncers.append(syncer)
        syncer.session = db
        syncer.seller = SellerAuth(SELLER, "unused")
        run = SyncRun(account_id=seller.account_id, status=RunStatus.PLANNING)
        db.add(run)
        db.commit()
        syncer._plan(run)
        batches = db.scalars(select(FeedBatch).where(FeedBatch.run_id == run.id).order_by(FeedBatch.seq))
        return syncer, list(batches)

    yield _plan
    for syncer in syncers:
        syncer.spool.close()
        syncer.redis.close()


def test_each_uploaded_document_is_the_planned_one_and_the_ledger_rebuilds_it_byte_for_byte(
        db: Session, plan: Plan) -> None:
    syncer, batches = plan(25, 10)

    assert [batch.message_count for batch in batches] == [10, 10, 5]
    skus = []
    for batch in batches:
        content = syncer._document(batch)
        assert sha256(content) == batch.content_sha256
        assert len(content) == batch.size_bytes
        assert content == build_document(SELLER, batch_messages(db, batch.id or 0))
        skus += [message["sku"] for message in json.loads(content)["messages"]]
    assert sorted(skus) == [f"SKU-{i:07d}" for i in range(25)]


def test_a_batch_whose_skus_were_released_after_planning_is_never_sent(db: Session, plan: Plan) -> None:
    syncer, batches = plan(12, 5)
    released = batches[1]
    # Its SKUs go back to the next run (as when a held run is discarded): the planned bytes are stale now.
    ledger.release(db, released.id or 0, "test", "released by the test")
    db.commit()

    with pytest.raises(RuntimeError, match="changed since it was planned"):
        syncer._document(released)
    assert sha256(syncer._document(batches[0])) == batches[0].content_sha256


@pytest.mark.parametrize("new_skus", [False, True], ids=["upsert", "first-sync-copy"])
def test_a_sku_twice_in_one_batch_keeps_its_last_message_in_the_ledger(
        db: Session, seller: Seller, new_skus: bool) -> None:
    run = SyncRun(account_id=seller.account_id, status=RunStatus.PLANNING)
    db.add(run)
    db.commit()
    rows = [(1, "SKU-A", 5, None), (2, "SKU-B", 0, None), (3, "SKU-A", 0, 1999)]

    batch = ledger.write_batch(db, run, 1, PlannedBatch(rows=rows, content_sha256="0" * 64, size_bytes=1),
                               new_skus=new_skus)

    state = table_of(ListingState).c
    stored = db.execute(select(state.sku, state.inflight_batch_id, state.inflight_message_id,
                               state.inflight_quantity, state.inflight_price_cents)
                        .where(state.account_id == seller.account_id).order_by(state.sku)).all()
    assert [tuple(row) for row in stored] == [("SKU-A", batch.id, 3, 0, 1999),
                                              ("SKU-B", batch.id, 2, 0, None)]
    assert (run.batches_total, run.changed_count) == (1, 3)


@pytest.mark.parametrize("new_skus", [False, True], ids=["upsert", "first-sync-copy"])
def test_skus_with_characters_copy_treats_specially_are_stored_exactly(
        db: Session, seller: Seller, new_skus: bool) -> None:
    # Amazon-only SKUs come from Amazon, and PostgreSQL's in-flight rows travel as COPY text.
    run = SyncRun(account_id=seller.account_id, status=RunStatus.PLANNING)
    db.add(run)
    db.commit()
    rows = [(1, "BACK\\SLASH", 5, None), (2, "TAB\tSKU", None, 1999), (3, "L\u00dcNE\r\n\\N", 0, 0),
            (4, "PLAIN-1", 7, 2500)]

    batch = ledger.write_batch(db, run, 1, PlannedBatch(rows=rows, content_sha256="0" * 64, size_bytes=1),
                               new_skus=new_skus)

    assert batch_messages(db, batch.id or 0) == rows


def test_a_batch_said_to_hold_only_new_skus_still_records_a_sku_that_has_a_row(
        db: Session, seller: Seller) -> None:
    """``new_skus`` is the caller's promise; a SKU that has a row already still gets the batch's message."""
    run = SyncRun(account_id=seller.account_id, status=RunStatus.PLANNING)
    db.add(run)
    db.commit()
    ledger.write_batch(db, run, 1, PlannedBatch(rows=[(1, "SKU-A", 5, None)], content_sha256="0" * 64,
                                                size_bytes=1), new_skus=True)
    rows = [(1, "SKU-B", 3, None), (2, "SKU-A", 0, 1999)]

    batch = ledger.write_batch(db, run, 2, PlannedBatch(rows=rows, content_sha256="0" * 64, size_bytes=1),
                               new_skus=True)

    assert batch_messages(db, batch.id or 0) == rows
    assert (run.batches_total, run.changed_count) == (2, 3)


def test_without_a_usable_temporary_folder_the_upload_rebuilds_the_planned_documents(
        db: Session, plan: Plan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))  # where the spool would write

    syncer, batches = plan(7, 5)

    for batch in batches:
        content = syncer._document(batch)
        assert sha256(content) == batch.content_sha256
        assert content == build_document(SELLER, batch_messages(db, batch.id or 0))
