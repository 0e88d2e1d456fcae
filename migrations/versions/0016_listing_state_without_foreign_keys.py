"""Issue 12 §3: ``listing_state`` loses its two foreign keys (to ``account`` and to ``feed_batch``).

The first sync of a million SKUs writes a million in-flight rows, and PostgreSQL checked both keys of every
row with a trigger each: 25,000 rows took about 1.1 s with both, 0.65 s with either one, 0.25 s with none
(on SQLite each row cost two more index look-ups). The code guarantees both references instead:

- ``wizard.sync.ledger.write_batch`` is the only code that inserts into ``listing_state`` or sets
  ``inflight_batch_id``. It writes the account of its ``sync_run`` (whose own foreign key to ``account``
  stays) and the id of the ``feed_batch`` row it has just flushed, in the same transaction.
- No code deletes an ``account`` or a ``feed_batch`` row (batches end as done, failed or cancelled and stay
  as the run's history).

The indexes stay: ``(account_id, sku)`` is the unique key, ``(inflight_batch_id, inflight_message_id)`` serves
every read of a batch's messages.

On SQLite the table is rebuilt (its foreign keys have no names: a naming convention gives them PostgreSQL's
default names); the partial index over rejected SKUs is dropped first and created again, so that its
``WHERE`` clause does not depend on batch mode's copy of the table.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 16:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: Names SQLite's unnamed foreign keys as PostgreSQL names them by default.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}
#: ``(name, referred table, column)`` of each foreign key dropped.
FOREIGN_KEYS = (("listing_state_account_id_fkey", "account", "account_id"),
                ("listing_state_inflight_batch_id_fkey", "feed_batch", "inflight_batch_id"))


def _rebuild(*, with_keys: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.drop_index("ix_listing_state_rejected", table_name="listing_state")
    with op.batch_alter_table("listing_state", naming_convention=NAMING) as batch:
        for name, table, column in FOREIGN_KEYS:
            if with_keys:
                batch.create_foreign_key(name, table, [column], ["id"])
            else:
                batch.drop_constraint(name, type_="foreignkey")
    if sqlite:
        op.create_index("ix_listing_state_rejected", "listing_state", ["account_id", "rejected_run_id"],
                        sqlite_where=sa.text("rejected_at IS NOT NULL"))


def upgrade() -> None:
    _rebuild(with_keys=False)


def downgrade() -> None:
    _rebuild(with_keys=True)
