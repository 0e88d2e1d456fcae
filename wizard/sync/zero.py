"""Set all my Amazon quantities to 0, then disconnect (issue 9 §9).

Amazon keeps the last quantities it was sent after Ecommerce disconnects, so listings stay buyable at stock
the merchant may no longer have (an oversell risk). The Disconnect page offers to send quantity 0 first for
every SKU Amazon accepted a quantity for (``listing_state.accepted_quantity``), as a normal sync run through
the ledger and the feed pipeline (:mod:`wizard.sync.runner`), with the usual progress on the Sync page. The
connection is disconnected by the worker only once Amazon has processed that run: a disconnection first would
leave Ecommerce without the access it needs to send the zeros.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, select
from sqlmodel import Session, col

from wizard.amazon.client import AmazonClient
from wizard.connect.service import connection_for, disconnect_and_restart
from wizard.crypto import TokenCipher
from wizard.db import table_of
from wizard.models import Account
from wizard.models.sync import ZERO_THEN_DISCONNECT, ListingState, RunStatus, SyncRun
from wizard.sync.plan import driver_rows


def managed_count(session: Session, account_id: int) -> int:
    """Return how many SKUs Amazon accepted a quantity for from Ecommerce (what a zero run would send)."""
    return int(session.scalar(select(func.count()).select_from(ListingState).where(
        col(ListingState.account_id) == account_id, col(ListingState.accepted_quantity).is_not(None))) or 0)


def zero_changes(session: Session, account_id: int) -> Iterator[tuple[str, int | None, int | None]]:
    """Return ``(sku, 0, None)`` for every SKU Amazon accepted a quantity for (quantity only, no price).

    The SKUs are read now, in full (the planner commits between batches, which would end a cursor).
    """
    state = table_of(ListingState).c
    query = (select(state.sku).where(state.account_id == account_id, state.accepted_quantity.is_not(None),
                                     state.inflight_batch_id.is_(None))
             .order_by(state.id))
    skus = [str(sku) for (sku,) in driver_rows(session, query)]
    return ((sku, 0, None) for sku in skus)


def is_zero_run(run: SyncRun | None) -> bool:
    """Return whether ``run`` is a "Set all my Amazon quantities to 0 first" run."""
    return run is not None and run.purpose == ZERO_THEN_DISCONNECT


def all_feeds_processed(run: SyncRun) -> bool:
    """Return whether Amazon processed every feed of a finished run (none failed or was cancelled)."""
    return run.status == RunStatus.DONE and not (run.error_code or "").startswith("feed_")


def disconnect_after(session: Session, run: SyncRun, *, amazon: AmazonClient, cipher: TokenCipher) -> bool:
    """Disconnect the account once its zero run is done with every feed processed; return whether it did.

    A feed Amazon could not process leaves its SKUs at their old quantities: the connection then stays, so
    the merchant can try again, and the run says why.
    """
    if not is_zero_run(run) or not all_feeds_processed(run):
        return False
    connection = connection_for(session, run.account_id)
    account = session.get(Account, run.account_id)
    if connection is None or account is None:
        return False
    disconnect_and_restart(session, account, connection, amazon=amazon, cipher=cipher)
    return True


def finish_interrupted(session: Session, account_id: int, *, amazon: AmazonClient,
                       cipher: TokenCipher) -> bool:
    """Disconnect now if a worker stopped between the zero run's end and the disconnection; return if it did.

    Only a zero run that finished after the connection was last authorized counts: a merchant who connected
    again since then is never disconnected by an old run.
    """
    run = session.scalars(select(SyncRun).where(col(SyncRun.account_id) == account_id)
                          .order_by(col(SyncRun.id).desc()).limit(1)).first()
    connection = connection_for(session, account_id)
    if (run is None or connection is None or run.finished_at is None or connection.authorized_at is None
            or run.finished_at < connection.authorized_at):
        return False
    return disconnect_after(session, run, amazon=amazon, cipher=cipher)


__all__ = ["all_feeds_processed", "disconnect_after", "finish_interrupted", "is_zero_run", "managed_count",
           "zero_changes"]
