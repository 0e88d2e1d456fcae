"""The urgent lane (issue 11 §1): stock-outs reach Amazon within a minute, not with the next feed.

When the rules engine's quantity for a product drops to 0, or by at least ``URGENT_DROP`` (50%) and at least
``URGENT_MIN_UNITS`` (5) units, below what Amazon shows as far as we know, the lane sends it at once with
``patchListingsItem``: the same ``merge`` patch as a feed message, through the one Amazon client and the
seller's Listings bucket in Redis (5 rps, burst 5).

Bookkeeping, like a feed message: Amazon's answer goes into ``listing_state`` (ACCEPTED: the new accepted
quantity, so the next feed does not send it again; INVALID: rejected with Amazon's issue) and a row of
``urgent_update`` (for "N in the last hour, median time to Amazon").

Ordering: a SKU is never in a feed and the lane at the same time. The lane skips SKUs with a feed message in
flight (the feed carries the older decision; the next run sends the newer), and the lane and the planner take
the account's planning lock (:func:`planning_lock`), so a feed is never planned from a state the lane is
about to change. The lane reads the product when it sends: the newest decision wins.

Bounds: beyond ``URGENT_MAX_PER_MINUTE`` (200) sends a minute, the rest go into an immediate small feed. If
the lane's stock-outs within 10 minutes would exceed the guard's share (``GUARD_ZERO_SHARE`` of the listings
in stock), it stops and leaves them to a feed run, which the guard holds for approval (§2).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from redis import Redis
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from wizard import rules as r
from wizard.amazon.client import AmazonClient, SellerAuth
from wizard.amazon.listings import ListingsApi
from wizard.db import table_of
from wizard.models.base import utcnow
from wizard.models.catalog import AmazonSettings, Product
from wizard.models.guard import UrgentUpdate
from wizard.models.sync import ListingState, ListingStatus
from wizard.reconcile import gate
from wizard.sync import plan as sync_plan
from wizard.sync import rejections
from wizard.sync.lock import AccountLock

#: The guard's window for the lane's own stock-outs.
GUARD_WINDOW = timedelta(minutes=10)


#: The planning lock's expiry, renewed while it is held: a holder that dies (a SIGKILLed worker) holds up the
#: lane and the planner this long at most. A fixed 600 s stalled a killed worker's replacement for 10 minutes.
PLANNING_LOCK_TTL = 30


@contextmanager
def planning_lock(redis: Redis, account_id: int, *, ttl: int = PLANNING_LOCK_TTL) -> Iterator[None]:
    """Hold the account's planning lock: the urgent lane and the feed planner never interleave."""
    lock = AccountLock(redis, account_id, ttl=ttl, name="sync:planning")
    while not lock.acquire():
        time.sleep(0.02)
    try:
        with lock.keep_alive():  # a million-SKU plan holds it for minutes
            yield
    finally:
        lock.release()


@dataclass(frozen=True)
class Limits:
    """The lane's settings, from the configuration (whose defaults live in ``wizard.config`` only)."""

    drop: float
    min_units: int
    per_minute: int
    zero_share: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """Read ``URGENT_DROP``, ``URGENT_MIN_UNITS``, ``URGENT_MAX_PER_MINUTE`` and ``GUARD_ZERO_SHARE``."""
        return cls(drop=float(config["URGENT_DROP"]), min_units=int(config["URGENT_MIN_UNITS"]),
                   per_minute=int(config["URGENT_MAX_PER_MINUTE"]),
                   zero_share=float(config["GUARD_ZERO_SHARE"]))


@dataclass(frozen=True)
class Candidate:
    """A SKU whose quantity must reach Amazon now."""

    sku: str
    quantity: int
    shown: int
    changed_at: Any


@dataclass
class LaneOutcome:
    """What one pass of the lane did."""

    sent: int = 0
    accepted: int = 0
    invalid: int = 0
    #: SKUs left to a feed (over the per-minute bound, or the guard's share).
    deferred: int = 0
    stopped_by_guard: bool = False
    #: More candidates wait than this chunk carried: the job runs another pass.
    more: bool = False


def urgent_condition(expected: Any, shown: Any, limits: Limits) -> ColumnElement[bool]:
    """Return the SQL test of "urgent": the decided quantity is 0, or fell steeply, below what Amazon shows.

    ``expected`` is the rules engine's quantity (:func:`wizard.rules.quantity_expr`), ``shown`` Amazon's as
    far as we know (:func:`wizard.reconcile.gate.last_known_quantity`); ``listing_state`` must be joined.
    """
    state = table_of(ListingState).c
    keep = round(100 * (1 - limits.drop))
    steep = or_(expected == 0, and_(expected * 100 <= shown * keep, shown - expected >= limits.min_units))
    return and_(shown > 0, expected < shown, steep,
                # Amazon refused this very value already: the lane does not loop on it.
                or_(state.status != ListingStatus.REJECTED, state.sent_quantity.is_(None),
                    state.sent_quantity != expected),
                # Nor does it spend an unknown code's daily tries (wizard.sync.rejections).
                or_(state.status != ListingStatus.REJECTED, state.reject_kind.is_(None),
                    state.reject_kind != rejections.Kind.UNKNOWN.value, state.next_retry_at.is_(None),
                    state.next_retry_at <= utcnow()))


def candidates(session: Session, account_id: int, rules: r.Rules, limits: Limits, *,
               limit: int | None = None, changed_since: datetime | None = None) -> list[Candidate]:
    """Return SKUs whose decided quantity is 0, or dropped steeply, below what Amazon shows; oldest first.

    ``changed_since`` keeps only products changed since then.
    """
    query = candidates_query(account_id, rules, limits, limit=limit, changed_since=changed_since)
    found = []
    for sku, available, price, last, changed_at in session.execute(query):
        decision = r.decide(int(available), int(price), rules)
        found.append(Candidate(sku=str(sku), quantity=decision.quantity, shown=int(last),
                               changed_at=changed_at))
    return found


def candidates_query(account_id: int, rules: r.Rules, limits: Limits, *, limit: int | None = None,
                     changed_since: datetime | None = None) -> Select[Any]:
    """Return the query of :func:`candidates`: ``(sku, available, price_cents, shown, updated_at)`` rows.

    It reads products by ``(account_id, updated_at)``, the order of ``ix_product_account_updated``, so a
    ``changed_since`` a few minutes back reads a few rows, not the whole catalog.
    """
    product = table_of(Product).c
    state = table_of(ListingState).c
    shown = gate.last_known_quantity()
    expected = r.quantity_expr(rules, product.available, product.price_cents)
    joined = gate.join_listing(table_of(Product).join(
        table_of(ListingState), and_(state.account_id == product.account_id, state.sku == product.sku)),
        product.account_id, product.sku)
    recent = [] if changed_since is None else [product.updated_at >= changed_since]
    return (select(product.sku, product.available, product.price_cents, shown, product.updated_at)
            .select_from(joined)
            .where(product.account_id == account_id, *recent, state.inflight_batch_id.is_(None),
                   urgent_condition(expected, shown, limits))
            .order_by(product.updated_at, product.id).limit(limit))


def _count_since(session: Session, account_id: int, since: Any, *, zero_only: bool = False) -> int:
    table = table_of(UrgentUpdate).c
    conditions = [table.account_id == account_id, table.sent_at >= since]
    if zero_only:
        conditions += [table.quantity == 0, table.status == "ACCEPTED"]
    return int(session.scalar(select(func.count()).where(*conditions)) or 0)


#: SKUs sent per selection: a pass reads the catalog again after each chunk, so a stock-out that arrives
#: during a long pass waits for at most one chunk, not for the whole pass.
CHUNK = 20


def run_lane(session: Session, config: Mapping[str, Any], account_id: int, seller: SellerAuth,
             client: AmazonClient) -> LaneOutcome:
    """Send up to one chunk of the account's urgent quantities now (the caller holds the planning lock)."""
    limits = Limits.from_config(config)
    rules = r.Rules.from_settings(session.get(AmazonSettings, account_id))
    found = candidates(session, account_id, rules, limits)
    outcome = LaneOutcome()
    if not found:
        return outcome
    now = utcnow()
    zeros = sum(1 for c in found if c.quantity == 0)
    recent_zeros = _count_since(session, account_id, now - GUARD_WINDOW, zero_only=True)
    from wizard.sync.guard import in_stock_count

    in_stock_before = in_stock_count(session, account_id) + recent_zeros
    if zeros and recent_zeros + zeros > limits.zero_share * in_stock_before:
        # Too many at once to be a normal sell-out: a feed run, which the guard holds for approval.
        outcome.stopped_by_guard = True
        outcome.deferred = len(found)
        return outcome
    allowance = max(0, limits.per_minute - _count_since(session, account_id, now - timedelta(minutes=1)))
    listings = ListingsApi(client)
    for candidate in found[:min(allowance, CHUNK)]:
        patches = [json.loads(sync_plan.quantity_patch(candidate.quantity))]
        sent_at = utcnow()
        accepted_before = _forget_accepted_quantity(session, account_id, candidate.sku)
        answer = listings.patch(seller, candidate.sku, patches)
        _record(session, account_id, candidate, answer.status, answer.submission_id,
                [{"code": i.code, "message": i.message, "severity": i.severity} for i in answer.issues],
                sent_at, accepted_before)
        outcome.sent += 1
        if answer.status == "ACCEPTED":
            outcome.accepted += 1
        else:
            outcome.invalid += 1
    outcome.deferred = max(0, len(found) - allowance)
    outcome.more = len(found) > outcome.sent and not outcome.deferred
    return outcome


def _forget_accepted_quantity(session: Session, account_id: int, sku: str) -> int | None:
    """Say we no longer know the SKU's quantity on Amazon, before a patch that may change it (committed).

    Amazon may apply the patch and its answer never reach us (every retry's answer lost, the worker killed
    before :func:`_record`). Had we kept the old accepted quantity, a stock back at that value would look
    unchanged to the planner and Amazon would keep the 0. Unknown, the next feed sends the catalog's value;
    an answer puts the quantity back at once. Returns the quantity forgotten, for a refusal to restore.
    """
    state = table_of(ListingState).c
    where = and_(state.account_id == account_id, state.sku == sku)
    before = session.scalar(select(state.accepted_quantity).where(where))
    session.execute(update(table_of(ListingState)).where(where).values(accepted_quantity=None))
    session.commit()
    return None if before is None else int(before)


def _record(session: Session, account_id: int, candidate: Candidate, status: str, submission_id: str,
            issues: list[dict[str, str]], sent_at: Any, accepted_before: int | None) -> None:
    """Record Amazon's answer for one SKU, like a feed message's result (committed).

    A refused patch changed nothing on Amazon: the quantity it accepted before (``accepted_before``) stands.
    """
    now = utcnow()
    state = table_of(ListingState).c
    where = and_(state.account_id == account_id, state.sku == candidate.sku)
    if status == "ACCEPTED":
        values: dict[str, Any] = {"accepted_quantity": candidate.quantity, "accepted_at": now,
                                  "status": ListingStatus.ACCEPTED, "error_code": None,
                                  "error_message": None, **rejections.CLEARED}
    else:
        first = issues[0] if issues else {"code": "urgent_invalid", "message": "Amazon refused the update."}
        before = session.execute(select(state.reject_tries, state.reject_window_at).where(where)).first()
        attempts = rejections.after_rejection(first["code"], before[0] if before else None,
                                              before[1] if before else None, now)
        values = {"status": ListingStatus.REJECTED, "accepted_quantity": accepted_before,
                  "error_code": first["code"][:80],
                  "error_message": first["message"][:1000], "reject_kind": attempts.kind.value,
                  "reject_tries": attempts.tries, "reject_window_at": attempts.window_at,
                  "next_retry_at": attempts.next_retry_at, "rejected_at": now, "rejected_run_id": None}
    session.execute(update(table_of(ListingState)).where(where).values(
        sent_quantity=candidate.quantity, sent_at=sent_at, **values))
    session.add(UrgentUpdate(account_id=account_id, sku=candidate.sku, quantity=candidate.quantity,
                             changed_at=candidate.changed_at or sent_at, sent_at=sent_at, answered_at=now,
                             status=status[:20], submission_id=submission_id[:200] or None,
                             issues_json=json.dumps(issues)))
    session.commit()


#: How long a feed leaves a stock-out to the lane: the lane answers within a minute, so a stock-out older than
#: this goes with the feed whatever happened to the lane.
LANE_GRACE = timedelta(minutes=10)


def _deferred_key(account_id: int) -> str:
    return f"urgent:deferred:{account_id}"


def mark_deferred(redis: Redis, account_id: int) -> None:
    """Say that the lane left stock-outs to a feed (over its bound, held by the guard, or Amazon failing)."""
    redis.set(_deferred_key(account_id), "1", ex=int(LANE_GRACE.total_seconds()))


@dataclass(frozen=True)
class LeftToLane:
    """What a feed planned now leaves to the lane: urgent stock-outs of products changed ``since`` then."""

    limits: Limits
    since: datetime

    def __call__(self, expected: Any, shown: Any) -> ColumnElement[bool]:
        """Return the SQL test, given the planner's ``expected`` and ``shown`` expressions."""
        return and_(urgent_condition(expected, shown, self.limits),
                    table_of(Product).c.updated_at >= self.since)


def left_to_lane(config: Mapping[str, Any], redis: Redis, account_id: int) -> LeftToLane | None:
    """Return what a feed planned now leaves to the lane, for :func:`wizard.sync.plan.plan_changes`.

    None when the feed takes everything (the lane is off, or it has just left stock-outs to a feed). Without
    it a feed planned a moment before the lane's pass carries the stock-out instead, and Amazon may take hours
    to process a feed.
    """
    if not config["URGENT_LANE"] or redis.exists(_deferred_key(account_id)):
        return None
    return LeftToLane(Limits.from_config(config), utcnow() - LANE_GRACE)


def waiting_for_lane(session: Session, account_id: int, left: LeftToLane) -> bool:
    """Return whether stock-outs wait for the lane (a feed just left them to it: a pass must follow).

    Only products changed since ``left.since`` can have been left to the lane (older stock-outs go with the
    feed), so only they are read: a few rows after a quiet hour, where reading every candidate of a
    million-SKU catalog took seconds (4.4 s of a 12.9 s 1% plan on PostgreSQL).
    """
    rules = r.Rules.from_settings(session.get(AmazonSettings, account_id))
    return bool(candidates(session, account_id, rules, left.limits, limit=1, changed_since=left.since))


@dataclass(frozen=True)
class LaneStats:
    """What the Sync page shows: urgent updates in the last hour and their median time to Amazon."""

    count: int
    median_seconds: float | None


@cache
def _lane_last_hour() -> Select[Any]:
    # Built once: the Sync page asks it on every view (building costs more than running it).
    table = table_of(UrgentUpdate).c
    return select(table.changed_at, table.answered_at).where(table.account_id == bindparam("account_id"),
                                                             table.sent_at >= bindparam("since"))


def stats(session: Session, account_id: int) -> LaneStats:
    """Return the lane's last hour: how many sends, and the median seconds from change to Amazon's answer."""
    rows = session.execute(_lane_last_hour(), {"account_id": account_id,
                                               "since": utcnow() - timedelta(hours=1)}).all()
    delays = [(answered - changed).total_seconds() for changed, answered in rows if answered and changed]
    return LaneStats(count=len(rows), median_seconds=statistics.median(delays) if delays else None)


__all__ = ["LANE_GRACE", "Candidate", "LaneOutcome", "LaneStats", "LeftToLane", "Limits", "candidates",
           "candidates_query",
           "left_to_lane", "mark_deferred", "planning_lock", "run_lane", "stats", "urgent_condition",
           "waiting_for_lane"]
