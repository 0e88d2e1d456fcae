"""The home card's and the Sync page's one-query read of the newest run and the last successful one says what
``latest_run`` and ``last_success`` say, whatever the history."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session, col

from tests.conftest import Merchant
from wizard.models import Account
from wizard.models.sync import RunStatus, SyncRun
from wizard.sync import ledger

runs = st.lists(st.tuples(st.sampled_from(list(RunStatus)), st.integers(min_value=0, max_value=2)),
                max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=runs, others=runs)
def test_the_newest_and_last_successful_runs_are_read_together(
        db: Session, merchant: Merchant, history: list[tuple[RunStatus, int]],
        others: list[tuple[RunStatus, int]]) -> None:
    account_id = merchant.account.id
    assert account_id is not None
    other = Account(name="Another merchant")
    db.add(other)
    db.commit()
    assert other.id is not None
    db.execute(delete(SyncRun).where(col(SyncRun.account_id).in_([account_id, other.id])))
    # Interleaved with another account's runs, whose newer ones must never be taken for this account's.
    for (status, sent), theirs in zip(history, others + [None] * len(history), strict=False):
        db.add(SyncRun(account_id=account_id, status=status, sent_count=sent))
        if theirs is not None:
            db.add(SyncRun(account_id=other.id, status=theirs[0], sent_count=theirs[1]))
        db.commit()
    assert ledger.latest_and_last_success(db, account_id) == (ledger.latest_run(db, account_id),
                                                              ledger.last_success(db, account_id))
