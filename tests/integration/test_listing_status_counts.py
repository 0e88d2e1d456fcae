"""The per-account listing status counts, once recomputed, equal a GROUP BY of listing_state after any
sequence of inserts, upserts, status changes and deletes; and the stored numbers are what is read."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update
from sqlmodel import Session, col

from tests.conftest import Merchant, make_merchant
from wizard.models import ListingState, ListingStatus
from wizard.models.listing_stats import counts, rebuild

STATUSES = [s.name for s in ListingStatus]
operations = st.lists(
    st.tuples(st.just("upsert"), st.integers(0, 12), st.sampled_from(STATUSES))
    | st.tuples(st.just("status"), st.integers(0, 12), st.sampled_from(STATUSES))
    | st.tuples(st.just("all"), st.integers(0, 12), st.sampled_from(STATUSES))
    | st.tuples(st.just("delete"), st.integers(0, 12), st.just("")),
    max_size=40,
)


def _grouped(db: Session, account_id: int) -> dict[str, int]:
    rows = db.execute(text("SELECT status, count(*) FROM listing_state WHERE account_id = :a "
                           "GROUP BY status"), {"a": account_id})
    return {str(status): int(n) for status, n in rows}


def _apply(db: Session, account_id: int, steps: list[tuple[Any, ...]]) -> None:
    upsert = text("INSERT INTO listing_state (account_id, sku, status) VALUES (:a, :s, :st) "
                  "ON CONFLICT (account_id, sku) DO UPDATE SET status = excluded.status")
    for kind, number, status in steps:
        sku = f"SKU-{number}"
        if kind == "upsert":
            db.execute(upsert, {"a": account_id, "s": sku, "st": status})
        elif kind == "status":
            db.execute(update(ListingState).where(col(ListingState.account_id) == account_id,
                                                  col(ListingState.sku) == sku)
                       .values(status=ListingStatus[status]))
        elif kind == "all":  # one statement changing many rows, as a feed's report does
            db.execute(update(ListingState).where(col(ListingState.account_id) == account_id)
                       .values(status=ListingStatus[status]))
        else:
            db.execute(delete(ListingState).where(col(ListingState.account_id) == account_id,
                                                  col(ListingState.sku) == sku))
    db.commit()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_a_rebuild_counts_what_every_write_left(db: Session, merchant: Merchant,
                                              steps: list[tuple[Any, ...]]) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    _apply(db, account_id, steps)
    rebuild(db.connection(), account_id)
    assert counts(db.connection(), account_id) == _grouped(db, account_id)


def test_another_accounts_listings_never_count(db: Session, merchant: Merchant) -> None:
    other = make_merchant(db, name="Other", domain="other.example")
    assert merchant.account.id is not None and other.account.id is not None
    _apply(db, merchant.account.id, [("upsert", 1, "ACCEPTED")])
    _apply(db, other.account.id, [("upsert", 1, "REJECTED"), ("upsert", 2, "REJECTED")])
    for account_id in (merchant.account.id, other.account.id):
        rebuild(db.connection(), account_id)
    assert counts(db.connection(), merchant.account.id) == {"ACCEPTED": 1}
    assert db.scalar(select(func.count()).select_from(ListingState)) == 3
