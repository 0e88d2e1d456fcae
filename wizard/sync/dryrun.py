"""Amazon's own dry run ("Check with Amazon", issue 11 §3): validate a sample before the first live sync.

Up to 20 SKUs go to ``patchListingsItem?mode=VALIDATION_PREVIEW`` with exactly the patches a feed would send
(the rules engine decides them): the largest quantity changes, the price changes, and a few random SKUs.
Amazon answers VALID or INVALID with its issues and changes nothing (FACTS.md §g). Previews count against
5 rps per seller–app pair (the seller's ``patchListingsItem`` bucket, shared with the urgent lane and the
reconcile) and 20 rps per application (``ListingsApi.patch`` takes that bucket too), both in Redis.

The first sync of an account waits for a check the merchant confirmed ("Start syncing") when
``CHECK_BEFORE_FIRST_SYNC`` is on: :func:`first_sync_waits`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Exists, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from wizard import rules as r
from wizard.amazon.client import AmazonClient, SellerAuth
from wizard.amazon.errors import AmazonError
from wizard.amazon.listings import ListingsApi
from wizard.db import table_of
from wizard.models.base import utcnow
from wizard.models.catalog import AmazonSettings, Product
from wizard.models.guard import AmazonCheck
from wizard.models.sync import ListingState, RunStatus, SyncRun
from wizard.reconcile import gate
from wizard.sync import plan as sync_plan
from wizard.sync import rejections

#: Amazon's sample: at most 20 SKUs, of which these many largest quantity changes and price changes.
SAMPLE_SIZE = 20
LARGEST_QUANTITY_CHANGES = 10
PRICE_CHANGES = 6

def tip_for(code: str | None) -> str:
    """Return the plain-language tip for one of Amazon's issue codes (the one table: ``sync.rejections``)."""
    return rejections.tip_for(code)


@dataclass(frozen=True)
class Sample:
    """One SKU of the sample: what the feed would send and why it was picked."""

    sku: str
    quantity: int
    price_cents: int | None
    why: str

    def patches(self) -> list[dict[str, Any]]:
        """Return the JSON patches the feed would send for this SKU (the same ``merge`` patches)."""
        patches = [json.loads(sync_plan.quantity_patch(self.quantity))]
        if self.price_cents is not None:
            patches.append(json.loads(sync_plan.price_patch(self.price_cents)))
        return patches


def choose_sample(session: Session, account_id: int, rules: r.Rules, *, size: int = SAMPLE_SIZE,
                  seed: int | None = None) -> list[Sample]:
    """Pick up to ``size`` catalog SKUs: the largest quantity changes, the price changes, then random ones.

    A change is measured against what Amazon shows as far as we know (``gate.last_known_*``): what it last
    accepted from us, or what a read of Amazon found since.
    """
    product = table_of(Product).c
    state = table_of(ListingState).c
    last_quantity, last_price = gate.last_known_quantity(), gate.last_known_price()
    expected = r.quantity_expr(rules, product.available, product.price_cents)
    joined = gate.join_listing(table_of(Product).outerjoin(
        table_of(ListingState), and_(state.account_id == product.account_id, state.sku == product.sku)),
        product.account_id, product.sku)
    columns = (product.sku, product.available, product.price_cents)
    base = select(*columns).select_from(joined).where(product.account_id == account_id)
    quantity_change = func.abs(expected - func.coalesce(last_quantity, 0))
    picked: dict[str, str] = {}

    def take(query: Any, limit: int, why: str) -> None:
        if limit <= 0:
            return
        chosen = [row for row in session.execute(query.limit(limit + len(picked))) if row[0] not in picked]
        for row in chosen[:limit]:
            picked[str(row[0])] = why

    take(base.where(or_(last_quantity.is_(None), expected != last_quantity))
         .order_by(quantity_change.desc(), product.id), LARGEST_QUANTITY_CHANGES, "largest quantity change")
    if not rules.disable_pricing:
        take(base.where(last_price.is_not(None), last_price != product.price_cents, product.price_cents > 0)
             .order_by(func.abs(product.price_cents - last_price).desc(), product.id),
             PRICE_CHANGES, "price change")
    # ``random()`` exists in SQLite and PostgreSQL alike.
    take(base.order_by(func.random()), size - len(picked), "random")
    rows = {str(row[0]): row for row in session.execute(
        select(*columns).where(product.account_id == account_id, product.sku.in_(list(picked))))}
    sample: list[Sample] = []
    for sku, why in picked.items():
        _, available, price = rows[sku]
        decision = r.decide(int(available), int(price), rules)
        sample.append(Sample(sku=sku, quantity=decision.quantity, price_cents=decision.price_cents, why=why))
    return sample[:size]


def check_with_amazon(session: Session, account_id: int, seller: SellerAuth, client: AmazonClient, *,
                      user_id: int | None = None) -> AmazonCheck:
    """Validate a sample with ``VALIDATION_PREVIEW`` and record Amazon's answers (committed)."""
    settings = session.get(AmazonSettings, account_id)
    sample = choose_sample(session, account_id, r.Rules.from_settings(settings))
    listings = ListingsApi(client)
    results: list[dict[str, Any]] = []
    error: str | None = None
    for item in sample:
        try:
            answer = listings.patch(seller, item.sku, item.patches(), preview=True)
        except AmazonError as exc:
            error = ("Amazon did not answer every check; the answers below are the ones it gave. "
                     f"Try again in a minute. ({exc.message[:300]})")
            break
        results.append({"sku": item.sku, "status": answer.status, "quantity": item.quantity,
                        "price_cents": item.price_cents, "why": item.why,
                        "issues": [{"code": i.code, "message": i.message, "severity": i.severity}
                                   for i in answer.issues]})
    check = AmazonCheck(account_id=account_id, created_by_user_id=user_id, results_json=json.dumps(results),
                        valid_count=sum(1 for x in results if x["status"] == "VALID"),
                        invalid_count=sum(1 for x in results if x["status"] != "VALID"), error=error)
    session.add(check)
    session.commit()
    return check


def latest_check(session: Session, account_id: int) -> AmazonCheck | None:
    """Return the account's newest check."""
    table = table_of(AmazonCheck).c
    check_id = session.scalar(select(func.max(table.id)).where(table.account_id == account_id))
    return None if check_id is None else session.get(AmazonCheck, check_id)


def results_of(check: AmazonCheck) -> list[dict[str, Any]]:
    """Return a check's per-SKU answers, each with a plain-language tip per issue; Amazon's refusals first."""
    results: list[dict[str, Any]] = json.loads(check.results_json or "[]")
    for result in results:
        for issue in result["issues"]:
            issue["tip"] = tip_for(issue.get("code"))
    # What needs fixing comes first; the rest keeps the sample's order (largest changes, prices, random).
    return sorted(results, key=lambda result: result.get("status") == "VALID")


def synced_before(session: Session, account_id: int) -> bool:
    """Return whether a sync of the account ever finished."""
    return bool(session.scalar(select(_synced_before()), {"account_id": account_id}))


def confirmed(session: Session, account_id: int) -> bool:
    """Return whether the merchant confirmed a check ("Start syncing")."""
    return bool(session.scalar(select(_confirmed()), {"account_id": account_id}))


@cache
def _synced_before() -> Exists:
    run = table_of(SyncRun).c
    return exists().where(run.account_id == bindparam("account_id"), run.status == RunStatus.DONE)


@cache
def _confirmed() -> Exists:
    table = table_of(AmazonCheck).c
    return exists().where(table.account_id == bindparam("account_id"), table.confirmed_at.is_not(None))


@cache
def _first_sync_waits() -> Select[bool]:
    # Built once, one round trip: the Sync page asks it on every view until the first sync.
    return select(~_confirmed() & ~_synced_before())


def first_sync_waits(config: Mapping[str, Any], session: Session, account_id: int) -> bool:
    """Return whether the account's first sync still waits for a confirmed "Check with Amazon"."""
    if not bool(config["CHECK_BEFORE_FIRST_SYNC"]):
        return False
    return bool(session.scalar(_first_sync_waits(), {"account_id": account_id}))


def confirm(session: Session, check: AmazonCheck, user_id: int | None) -> None:
    """Record "Start syncing" on ``check`` (committed)."""
    check.confirmed_at = utcnow()
    check.confirmed_by_user_id = user_id
    session.add(check)
    session.commit()


__all__ = ["SAMPLE_SIZE", "AmazonCheck", "Sample", "check_with_amazon", "choose_sample", "confirm",
           "first_sync_waits", "latest_check", "results_of", "tip_for"]
