"""The blast-radius guard (issue 11 §2): pause a run that would zero or reprice too much of the catalog.

Before a run's first feed is submitted, what it would send is compared with what Amazon shows now as far as
we know (``gate.last_known_*``: the last accepted state, or the reconcile's reading). The run is paused for
approval when it would

- set more than ``GUARD_ZERO_SHARE`` (20%) of the listings now in stock to 0, or
- lower the price of more than ``GUARD_PRICE_SHARE`` (10%) of priced listings by more than
  ``GUARD_PRICE_DROP`` (30%).

A paused run has a :class:`RunHold` with no decision; an admin or manager approves it (it runs) or discards it
(nothing is sent, its SKUs are released, the run is stopped and the hold says who did it). A settings save or
restore the merchant confirmed on its preview is an approval given in advance (:func:`approve_in_advance`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, bindparam, func, select, update
from sqlalchemy.orm import Mapped, Session

from wizard.db import table_of
from wizard.models.base import utcnow
from wizard.models.guard import RunHold
from wizard.models.sync import BatchStatus, FeedBatch, ListingState, ListingStatus, RunStatus, SyncRun
from wizard.reconcile import gate

EXAMPLES = 20
#: An approval given in advance covers runs planned this long after it (the next "sync soon").
IN_ADVANCE = timedelta(minutes=10)
APPROVED = "approved"
DISCARDED = "discarded"


@dataclass(frozen=True)
class Thresholds:
    """The guard's limits, from the configuration (whose defaults live in ``wizard.config`` only)."""

    zero_share: float
    price_share: float
    price_drop: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """Read ``GUARD_ZERO_SHARE``, ``GUARD_PRICE_SHARE`` and ``GUARD_PRICE_DROP``."""
        return cls(zero_share=float(config["GUARD_ZERO_SHARE"]),
                   price_share=float(config["GUARD_PRICE_SHARE"]),
                   price_drop=float(config["GUARD_PRICE_DROP"]))


@dataclass(frozen=True)
class Impact:
    """What a run would do, counted against what Amazon shows now."""

    in_stock: int
    zeroed: int
    priced: int
    price_drops: int
    examples: list[dict[str, Any]]

    def exceeds(self, limits: Thresholds) -> bool:
        """Return whether the run must wait for approval."""
        return (self.zeroed > limits.zero_share * self.in_stock
                or self.price_drops > limits.price_share * self.priced)


def in_stock_count(session: Session, account_id: int) -> int:
    """Return how many of the account's listings Amazon shows in stock, as far as we know."""
    state = table_of(ListingState).c
    last = gate.last_known_quantity()
    joined = gate.join_listing(table_of(ListingState), state.account_id, state.sku)
    return int(session.scalar(select(func.count()).select_from(joined).where(
        state.account_id == account_id, last > 0)) or 0)


def assess(session: Session, run_id: int, account_id: int, limits: Thresholds) -> Impact:
    """Count what the run's planned messages would zero and reprice, with up to 20 examples."""
    state = table_of(ListingState).c
    batch = table_of(FeedBatch).c
    last_quantity, last_price = gate.last_known_quantity(), gate.last_known_price()
    joined = gate.join_listing(table_of(ListingState), state.account_id, state.sku)
    in_run = state.inflight_batch_id.in_(select(batch.id).where(batch.run_id == run_id))
    zeroing = and_(state.inflight_quantity == 0, last_quantity > 0)
    dropping = and_(state.inflight_price_cents.is_not(None), last_price > 0,
                    state.inflight_price_cents * 100 < last_price * (100 - round(100 * limits.price_drop)))
    priced = int(session.scalar(select(func.count()).select_from(joined).where(
        state.account_id == account_id, last_price > 0)) or 0)
    zeroed = int(session.scalar(select(func.count()).select_from(joined).where(in_run, zeroing)) or 0)
    drops = int(session.scalar(select(func.count()).select_from(joined).where(in_run, dropping)) or 0)
    rows = session.execute(select(state.sku, last_quantity, state.inflight_quantity, last_price,
                                  state.inflight_price_cents).select_from(joined)
                           .where(in_run, zeroing | dropping).order_by(state.sku).limit(EXAMPLES))
    examples = [{"sku": sku, "quantity_before": qb, "quantity_after": qa, "price_before": pb,
                 "price_after": pa} for sku, qb, qa, pb, pa in rows]
    return Impact(in_stock=in_stock_count(session, account_id), zeroed=zeroed, priced=priced,
                  price_drops=drops, examples=examples)


def check_run(session: Session, config: Mapping[str, Any], run: SyncRun) -> RunHold | None:
    """Hold ``run`` when it exceeds the guard's limits (once per run); return its hold, if any."""
    assert run.id is not None
    existing = session.scalars(select(RunHold).where(RunHold.run_id == run.id)).first()  # type: ignore[arg-type]
    if existing is not None:
        return existing
    thresholds = Thresholds.from_config(config)
    impact = assess(session, run.id, run.account_id, thresholds)
    if not impact.exceeds(thresholds):
        return None
    hold = _advance_approval(session, run.account_id) or RunHold(account_id=run.account_id)
    hold.run_id = run.id
    hold.in_stock_count, hold.zero_count = impact.in_stock, impact.zeroed
    hold.priced_count, hold.price_drop_count = impact.priced, impact.price_drops
    hold.examples_json = json.dumps(impact.examples)
    session.info.pop(_WAITING, None)
    session.add(hold)
    session.commit()
    return hold


def _advance_approval(session: Session, account_id: int) -> RunHold | None:
    hold = table_of(RunHold).c
    hold_id = session.scalar(select(func.max(hold.id)).where(
        hold.account_id == account_id, hold.run_id.is_(None), hold.decision == APPROVED,
        hold.created_at >= utcnow() - IN_ADVANCE))
    return None if hold_id is None else session.get(RunHold, hold_id)


def approve_in_advance(session: Session, account_id: int, user_id: int | None, note: str) -> None:
    """Record that the merchant confirmed a change on its preview: the run it starts is not held (§2, §4)."""
    session.add(RunHold(account_id=account_id, decision=APPROVED, decided_at=utcnow(),
                        decided_by_user_id=user_id, note=note[:200]))
    session.commit()


#: ``session.info`` key: account id -> the id of its waiting hold (None: none), as read earlier in a session.
_WAITING = "guard_waiting_hold"


def waiting(session: Session, account_id: int) -> RunHold | None:
    """Return the account's hold waiting for a decision, if any.

    The sign-in check reads the hold's id with the user (:func:`remember_waiting_hold`); otherwise it costs a
    query. A decision in this session forgets it (:func:`approve`, :func:`discard`).
    """
    known: dict[int, int | None] = session.info.get(_WAITING, {})
    if account_id in known:
        hold_id = known[account_id]
    else:
        hold_id = session.scalar(_waiting_hold(), {"account_id": account_id})
    return None if hold_id is None else session.get(RunHold, hold_id)


def remember_waiting_hold(session: Session, account_id: int, hold_id: int | None) -> None:
    """Give :func:`waiting` the id another query read with :func:`waiting_hold_id` (None: no hold waits)."""
    session.info.setdefault(_WAITING, {})[account_id] = hold_id


def waiting_hold_id(account_id: ColumnElement[int | None] | Mapped[int | None]) -> ScalarSelect[int]:
    """Return the id of the hold waiting for ``account_id``'s decision, as a scalar subquery (else NULL)."""
    return _waiting_hold_select(account_id).scalar_subquery()


def _waiting_hold_select(account_id: Any) -> Select[int]:
    hold = table_of(RunHold).c
    return select(func.min(hold.id)).where(hold.account_id == account_id, hold.run_id.is_not(None),
                                           hold.decision.is_(None))


@cache
def _waiting_hold() -> Select[int]:
    # Built once: pages ask it when the sign-in check did not (the layout's banner for admins and managers).
    return _waiting_hold_select(bindparam("account_id"))


def approve(session: Session, hold: RunHold, user_id: int | None) -> None:
    """Let the held run go (committed); the caller enqueues its sync."""
    hold.decision, hold.decided_at, hold.decided_by_user_id = APPROVED, utcnow(), user_id
    session.info.pop(_WAITING, None)
    session.add(hold)
    session.commit()


def discard(session: Session, hold: RunHold, user_id: int | None, who: str) -> None:
    """Send nothing of the held run: cancel its batches, release its SKUs, stop it (committed)."""
    now = utcnow()
    message = f"Discarded by {who}: nothing was sent to Amazon."
    batch = table_of(FeedBatch).c
    state = table_of(ListingState).c
    batch_ids = select(batch.id).where(batch.run_id == hold.run_id,
                                       batch.status.in_([BatchStatus.PLANNED, BatchStatus.UPLOADED]))
    session.execute(update(table_of(ListingState)).where(state.inflight_batch_id.in_(batch_ids)).values(
        status=ListingStatus.PENDING, inflight_batch_id=None, inflight_message_id=None,
        inflight_quantity=None, inflight_price_cents=None))
    session.execute(update(table_of(FeedBatch)).where(
        batch.run_id == hold.run_id, batch.status.in_([BatchStatus.PLANNED, BatchStatus.UPLOADED])).values(
        status=BatchStatus.CANCELLED, processed_at=now, result_summary=message))
    run = session.get(SyncRun, hold.run_id)
    if run is not None:
        run.status, run.finished_at, run.error, run.error_code = RunStatus.STOPPED, now, message, "discarded"
        session.add(run)
    hold.decision, hold.decided_at, hold.decided_by_user_id = DISCARDED, now, user_id
    session.info.pop(_WAITING, None)
    session.add(hold)
    session.commit()


def examples_of(hold: RunHold) -> list[dict[str, Any]]:
    """Return the hold's example SKUs with before → after."""
    examples: list[dict[str, Any]] = json.loads(hold.examples_json or "[]")
    return examples


__all__ = ["Impact", "Thresholds", "approve", "approve_in_advance", "assess", "check_run", "discard",
           "examples_of", "in_stock_count", "waiting"]
