"""Store every enum column as its member NAME: rewrite lowercase values a raw-SQL write left behind.

The ORM's ``Enum`` columns store member names (``'PENDING'``), but the sync once wrote
``listing_state.status``
with the member *value* (``'pending'``) through the driver, and the home page and the catalog then failed to
read those rows (issue 8, R1). This rewrites any such value, in every enum column, to the name.

PostgreSQL's native enum types never accepted the lowercase values, so there is nothing to rewrite there (and
comparing a native enum with an unknown label is an error): the statements run only where enums are plain
strings.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: (table, column, member names) of every Enum column at this revision (the reconcile tables, 0003, store
#: their kinds as plain strings of the values, by design).
ENUM_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("listing_state", "status", ("PENDING", "ACCEPTED", "REJECTED")),
    ("sync_run", "status", ("QUEUED", "PLANNING", "SUBMITTING", "PROCESSING", "DONE", "FAILED", "STOPPED")),
    ("sync_run", "trigger", ("CRON", "MANUAL", "CHANGE")),
    ("feed_batch", "status",
     ("PLANNED", "UPLOADED", "SUBMITTING", "SUBMITTED", "DONE", "FATAL", "CANCELLED")),
    ("connection", "status", ("NOT_CONNECTED", "CONNECTED", "NEEDS_REAUTHORIZATION", "ERROR")),
    ("user", "role", ("ADMIN", "MANAGER", "STAFF")),
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        return
    for table_name, column_name, names in ENUM_COLUMNS:
        column = sa.column(column_name, sa.String())
        table = sa.table(table_name, column)
        for name in names:
            op.execute(sa.update(table).where(column == name.lower()).values({column_name: name}))
    # The per-status counts (0007) were computed from the rows just rewritten: compute them again.
    op.execute(sa.text("DELETE FROM listing_status_count"))
    op.execute(sa.text("INSERT INTO listing_status_count (account_id, status, listings) "
                       "SELECT account_id, status, count(*) FROM listing_state GROUP BY account_id, status"))


def downgrade() -> None:
    # The names are the only representation the models read: nothing to undo.
    pass
