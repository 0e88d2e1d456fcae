"""Run one step of an account's reconcile: open the session, check the connection, build the client, sweep.

The job functions in ``jobs/reconcile.py`` call :func:`run_sweep` under the account's reconcile lock and
re-enqueue themselves with the delay it returns (a report Amazon is still preparing). Jobs never build the
Flask app: the configuration comes from the environment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlmodel import col

from wizard.amazon.client import AmazonClient, SellerAuth
from wizard.amazon.errors import AmazonError, AuthorizationRevoked
from wizard.connect.service import seller_auth, usable
from wizard.crypto import TokenCipher
from wizard.db import session_scope
from wizard.models import Connection
from wizard.models.base import utcnow
from wizard.models.reconcile import SweepKind
from wizard.reconcile.gate import unchecked_skus
from wizard.reconcile.sweeps import Reconciler, SweepOutcome, active_sweep, last_done

log = logging.getLogger(__name__)


def amazon_client(config: Mapping[str, Any], redis: Redis) -> AmazonClient:
    """Return the Amazon client a job uses: the seller's rate buckets in Redis, shared with the sync."""
    return AmazonClient.from_config(config, redis)


def seller_for(connection: Connection | None, cipher: TokenCipher) -> SellerAuth | None:
    """Return the seller to call Amazon for, or None when the connection is not usable."""
    return seller_auth(connection, cipher) if connection is not None and usable(connection) else None


def due_kind(config: Mapping[str, Any], session: Any, account_id: int) -> SweepKind:
    """Return the sweep to run: full when one runs, none finished or one is due; else incremental."""
    if active_sweep(session, account_id, SweepKind.FULL) is not None:
        return SweepKind.FULL
    full = last_done(session, account_id, SweepKind.FULL)
    every = timedelta(seconds=int(config["RECONCILE_FULL_INTERVAL"]))
    if full is None or utcnow() - full.started_at >= every:
        return SweepKind.FULL
    return SweepKind.INCREMENTAL


def run_sweep(config: Mapping[str, Any], redis: Redis, account_id: int, kind: str,
              skus: list[str] | None = None, *, client: AmazonClient | None = None) -> SweepOutcome:
    """Advance the account's sweep of ``kind`` (``full``, ``incremental``, ``targeted``) as far as it can go.

    ``targeted`` looks up ``skus``, or every catalog SKU Amazon was never asked about when ``skus`` is None.
    """
    with session_scope(config["DATABASE_URL"]) as session:
        connection = session.scalars(
            select(Connection).where(col(Connection.account_id) == account_id)).first()
        seller = seller_for(connection, TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]))
        if seller is None:
            return SweepOutcome("not_connected")
        reconciler = Reconciler(config, session, account_id, seller, client or amazon_client(config, redis))
        try:
            if kind == SweepKind.FULL.value:
                return reconciler.full()
            if kind == SweepKind.INCREMENTAL.value:
                return reconciler.incremental()
            return reconciler.lookup(skus if skus is not None else unchecked_skus(session, account_id))
        except AuthorizationRevoked:
            session.rollback()
            log.info("account %s: authorization revoked; the reconcile stops until re-authorized", account_id)
            return SweepOutcome("not_connected")
        except AmazonError as exc:
            # Everything done so far is committed; the next job carries on from the stored state.
            session.rollback()
            log.warning("account %s: %s sweep paused, Amazon answered %s", account_id, kind, exc)
            return SweepOutcome("retrying", follow_up_in=float(config["SYNC_RETRY_DELAY"]))


__all__ = ["amazon_client", "due_kind", "run_sweep", "seller_for"]
