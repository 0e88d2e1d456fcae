"""Per-account counts of ``listing_state`` by status: the home page reads three rows, not every SKU's state.

The sync recomputes them (:func:`rebuild`, one indexed ``GROUP BY`` in the worker) after each step that
changes statuses, and the page shows the stored numbers. Not a trigger: a row trigger on SQLite nearly
doubles the cost of writing a million in-flight rows, the sync's hot path.
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants only, never from values.
from __future__ import annotations

from sqlalchemy import BigInteger, text
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

TABLE = "listing_status_count"


class ListingStatusCount(SQLModel, table=True):
    """How many of an account's SKUs are in one sync status (pending, accepted, rejected)."""

    __tablename__ = TABLE

    account_id: int = Field(foreign_key="account.id", primary_key=True)
    #: The value stored in ``listing_state.status``.
    status: str = Field(primary_key=True, max_length=20)
    listings: int = Field(default=0, sa_type=BigInteger)


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
    rows = connection.execute(text(f"SELECT status, listings FROM {TABLE} WHERE account_id = :a "
                                   "AND listings <> 0"), {"a": account_id})
    return {str(status): int(listings) for status, listings in rows}


__all__ = ["ListingStatusCount", "counts", "rebuild", "refresh"]
