"""Per-account counts the pages show, stored so that no page view scans the catalog or the listings.

- ``listing_status_count``: ``listing_state`` by status (the sync card reads three rows, not every SKU's
  state), recomputed by :func:`rebuild` (one indexed ``GROUP BY``);
- ``amazon_listing_count``: the home page's "what Amazon shows now" figures (issue 10 §3), one row per
  account, written by :func:`store_amazon_counts`. The figures are computed by ``wizard.reconcile.status``
  (which owns their SQL definitions, shared with the catalog's filters); its ``refresh`` recomputes both
  tables in one transaction.

The workers recompute them after each step that changes what they count (a sync job, a sweep or look-up, a
catalog import, an urgent pass), and the pages show the stored numbers. Not a trigger: a row trigger on
SQLite nearly doubles the cost of writing a million in-flight rows, the sync's hot path.
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any, cast

from pydantic import NaiveDatetime
from sqlalchemy import BigInteger, Select, Table, TextClause, bindparam, delete, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow

TABLE = "listing_status_count"
AMAZON_TABLE = "amazon_listing_count"
#: The figures of ``amazon_listing_count``, in column order.
AMAZON_FIGURES = ("amazon_in_stock", "drifted", "rejected", "not_on_amazon", "amazon_only",
                  "amazon_only_in_stock", "issues")


class ListingStatusCount(SQLModel, table=True):
    """How many of an account's SKUs are in one sync status (pending, accepted, rejected)."""

    __tablename__ = TABLE

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    #: The value stored in ``listing_state.status``.
    status: str = Field(primary_key=True, max_length=20)
    listings: int = Field(default=0, sa_type=BigInteger)


class AmazonListingCount(SQLModel, table=True):
    """What Amazon shows for an account, counted: the home page's and the Sync page's figures."""

    __tablename__ = AMAZON_TABLE

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    #: Catalog SKUs Amazon shows with quantity > 0.
    amazon_in_stock: int = Field(default=0, sa_type=BigInteger)
    #: Catalog SKUs changed on Amazon after our last accepted change (not corrected yet).
    drifted: int = Field(default=0, sa_type=BigInteger)
    #: Catalog SKUs whose last feed message Amazon rejected.
    rejected: int = Field(default=0, sa_type=BigInteger)
    #: Catalog SKUs Amazon has no listing for.
    not_on_amazon: int = Field(default=0, sa_type=BigInteger)
    #: Listings on Amazon that are not in the catalog, and those of them with stock.
    amazon_only: int = Field(default=0, sa_type=BigInteger)
    amazon_only_in_stock: int = Field(default=0, sa_type=BigInteger)
    #: Catalog SKUs with an ERROR or WARNING issue on Amazon.
    issues: int = Field(default=0, sa_type=BigInteger)
    #: The newest read of Amazon counted (None: Amazon's listings were never read).
    read_at: NaiveDatetime | None = None
    refreshed_at: NaiveDatetime = Field(default_factory=utcnow)


def backfill_sql(account_filter: str = "") -> str:
    """Return the statement filling the counts from ``listing_state`` (``account_filter``: a WHERE clause)."""
    where = f" WHERE {account_filter}" if account_filter else ""
    return (f"INSERT INTO {TABLE} (account_id, status, listings) "
            f"SELECT account_id, CAST(status AS VARCHAR(20)), count(*) FROM listing_state{where} "
            "GROUP BY 1, 2")


def rebuild(connection: Connection, account_id: int) -> None:
    """Recompute an account's counts from ``listing_state``, in the caller's transaction."""
    connection.execute(text(f"DELETE FROM {TABLE} WHERE account_id = :a"), {"a": account_id})
    connection.execute(text(backfill_sql("account_id = :a")), {"a": account_id})


def refresh(database_url: str, account_id: int) -> None:
    """Recompute an account's counts in a transaction of their own (the sync job calls this)."""
    from wizard.db import engine_for

    with engine_for(database_url).begin() as connection:
        rebuild(connection, account_id)


def counts(connection: Connection, account_id: int) -> dict[str, int]:
    """Return ``status -> listings`` for an account (statuses with none are left out)."""
    rows = connection.execute(_counts_of_account(), {"a": account_id})
    return {str(status): int(listings) for status, listings in rows}


@cache
def _counts_of_account() -> TextClause:
    # Built once: the home and Sync pages read it on every view, and building costs more than running it.
    return text(f"SELECT status, listings FROM {TABLE} WHERE account_id = :a AND listings <> 0")


def _amazon_table() -> Table:
    return cast(Table, inspect(AmazonListingCount).local_table)


def store_amazon_counts(connection: Connection, account_id: int, figures: Mapping[str, int],
                        read_at: datetime | None) -> None:
    """Replace an account's stored Amazon figures (``figures``: every name of :data:`AMAZON_FIGURES`)."""
    table = _amazon_table()
    connection.execute(delete(table).where(table.c.account_id == account_id))
    connection.execute(insert(table).values(account_id=account_id, read_at=read_at, refreshed_at=utcnow(),
                                            **{name: int(figures[name]) for name in AMAZON_FIGURES}))


def amazon_counts(connection: Connection, account_id: int) -> AmazonListingCount | None:
    """Return the account's stored Amazon figures (one primary-key read), or None if never computed."""
    row = connection.execute(_amazon_counts_of_account(), {"a": account_id}).first()
    return AmazonListingCount(**row._mapping) if row is not None else None


@cache
def _amazon_counts_of_account() -> Select[Any]:
    # Built once, as _counts_of_account.
    table = _amazon_table()
    return select(table).where(table.c.account_id == bindparam("a"))


__all__ = ["AMAZON_FIGURES", "AmazonListingCount", "ListingStatusCount", "amazon_counts", "counts", "rebuild",
           "refresh", "store_amazon_counts"]
